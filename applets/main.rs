//! armorbox: one static binary, many applets. The basename of argv[0] picks the applet
//! (links made by `armorbox --install`), or `armorbox APPLET ARGS…` does.

mod argh_args;
mod install;
mod not_built;
mod registry;

#[path = "armor-node/mod.rs"]
mod armor_node;
#[path = "cvault-init/mod.rs"]
mod cvault_init;
#[path = "cvault-mount/mod.rs"]
mod cvault_mount;
#[path = "mask-passwd/mod.rs"]
mod mask_passwd;
#[path = "secarc/mod.rs"]
mod secarc;
#[path = "vaultfs/mod.rs"]
mod vaultfs;

use armorbox::exit::{self, Failure, code};
use std::ffi::OsString;
use std::path::Path;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// No freed heap block keeps a copy of a secret (see `wiping_alloc`).
#[global_allocator]
static ALLOCATOR: armorbox::sys::wiping_alloc::WipingAllocator = armorbox::sys::wiping_alloc::WipingAllocator;

fn main() {
    install_panic_hook();
    let argv: Vec<OsString> = std::env::args_os().collect();
    // A panic is a bug: its message was printed by the hook; unwinding has already
    // restored the terminal and wiped secrets (their Drop ran). Exit distinctly.
    let status = std::panic::catch_unwind(|| dispatch(argv)).unwrap_or(code::INTERNAL);
    std::process::exit(status);
}

/// Picks the applet from argv[0] or, for the multiplexer itself, from the first argument.
fn dispatch(argv: Vec<OsString>) -> i32 {
    let mut args = argv.into_iter();
    let argv0 = args.next().unwrap_or_default();
    let invoked = invoked_name(&argv0);
    let rest: Vec<OsString> = args.collect();
    if let Some(applet) = registry::find(&invoked) {
        return run(applet, &invoked, rest);
    }
    if !invoked.is_empty() && !invoked.starts_with("armorbox") {
        return unknown_applet(&invoked);
    }
    multiplexer(rest)
}

/// `armorbox [--help|--version|--list|--install …|APPLET ARGS…]`.
fn multiplexer(args: Vec<OsString>) -> i32 {
    let Some(first) = args.first() else {
        print!("{}", registry::overview(VERSION));
        return 0;
    };
    match first.to_str() {
        Some("--help" | "-h" | "help") => {
            print!("{}", registry::overview(VERSION));
            0
        }
        Some("--version" | "-V") => {
            println!("armorbox {VERSION}");
            0
        }
        Some("--list") => {
            for applet in registry::APPLETS {
                println!("{}", applet.name);
            }
            0
        }
        Some("--install") => match install::run(&args[1..]) {
            Ok(()) => 0,
            Err(failure) => exit::report("armorbox --install", &failure),
        },
        Some(name) => match registry::find(name) {
            Some(applet) => run(applet, name, args[1..].to_vec()),
            None => unknown_applet(name),
        },
        None => unknown_applet(&first.to_string_lossy()),
    }
}

/// Runs an applet under the name it was called by (an alias such as `gocryptfs` keeps
/// its own name in messages and help).
fn run(applet: &registry::Applet, called_as: &str, args: Vec<OsString>) -> i32 {
    // Every applet reads a password or holds a key at some point.
    armorbox::sys::no_core_dump::forbid();
    let outcome = (applet.run)(called_as, &args);
    // The keys it used are gone from the heap; copies in dead stack frames are not.
    armorbox::secret::scrub_stack();
    match outcome {
        Ok(()) => 0,
        Err(failure) => exit::report(called_as, &failure),
    }
}

fn unknown_applet(name: &str) -> i32 {
    let known: Vec<&str> = registry::APPLETS.iter().map(|a| a.name).collect();
    let failure = Failure::new(
        code::UNKNOWN_APPLET,
        format!("applet not found: '{name}'; applets: {} (armorbox --help)", known.join(", ")),
    );
    exit::report("armorbox", &failure)
}

/// The applet name from argv[0]: its basename, without the leading `-` a login shell adds.
fn invoked_name(argv0: &std::ffi::OsStr) -> String {
    let base = Path::new(argv0).file_name().unwrap_or(argv0).to_string_lossy();
    base.trim_start_matches('-').to_string()
}

/// Says plainly that this is a bug, without the default hook's noise.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("armorbox: internal error{location}: {what}");
        eprintln!("armorbox: this is a bug in armorbox {VERSION}; please report it with the command you ran.");
    }));
}
