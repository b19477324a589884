//! Backs large, randomly read tables with 2 MiB pages where the kernel allows it.
//!
//! The LZMA match finder reads its tree and hash table at random across hundreds of
//! megabytes. With 4 KiB pages nearly every such read also misses the TLB and walks
//! the page table; with 2 MiB pages the TLB covers the tables. Debian's kernels give
//! transparent huge pages only to memory that asks for them (`madvise` mode), and
//! 7-Zip asks; so do we.

/// The whole pages inside `table`, as madvise takes them (a page-aligned start); the
/// partial page before them does not matter to the callers. None if there is none.
fn whole_pages<T>(table: &[T]) -> Option<(*mut std::ffi::c_void, usize)> {
    const PAGE: usize = 4096;
    let start = table.as_ptr() as usize;
    let end = start + std::mem::size_of_val(table);
    let aligned = start.next_multiple_of(PAGE);
    (end > aligned).then(|| (aligned as *mut _, end - aligned))
}

/// Advises the kernel to use huge pages for `table`. Call it before the table is first
/// written: pages already faulted in stay small. Best effort, nothing changes where
/// the kernel does not support it.
pub fn advise<T>(table: &mut [T]) {
    let Some((pages, len)) = whole_pages(table) else { return };
    // SAFETY: the range lies inside `table`, which we borrow mutably; this advice only
    // changes how the kernel backs the pages, never their contents.
    let _ = unsafe { rustix::mm::madvise(pages, len, rustix::mm::Advice::LinuxHugepage) };
}

/// Faults in the pages of `table` (zeroing them as a first write would) without
/// changing its contents, so that the thread that writes them first later does not
/// pay for it. False where the kernel cannot (before Linux 5.14).
pub fn fault_in<T>(table: &[T]) -> bool {
    let Some((pages, len)) = whole_pages(table) else { return true };
    // SAFETY: the range lies inside `table`; MADV_POPULATE_WRITE only makes its pages
    // present and writable, as a write of their current contents would.
    unsafe { rustix::mm::madvise(pages, len, rustix::mm::Advice::LinuxPopulateWrite) }.is_ok()
}
