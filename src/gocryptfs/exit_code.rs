//! gocryptfs's exit codes, a stable ABI (`Documentation/CLI_ABI.md`): scripts test them,
//! so vaultfs uses exactly these.

pub const USAGE: i32 = 1;
pub const CIPHERDIR: i32 = 6;
pub const INIT: i32 = 7;
pub const LOAD_CONF: i32 = 8;
pub const READ_PASSWORD: i32 = 9;
pub const MOUNTPOINT: i32 = 10;
pub const PASSWORD_INCORRECT: i32 = 12;
pub const SCRYPT_PARAMS: i32 = 13;
pub const MASTERKEY: i32 = 14;
pub const SIGINT: i32 = 15;
pub const FORK_CHILD: i32 = 17;
pub const FUSE_SERVER: i32 = 19;
pub const CTLSOCK: i32 = 20;
pub const PASSWORD_EMPTY: i32 = 22;
pub const OPEN_CONF: i32 = 23;
pub const WRITE_CONF: i32 = 24;
pub const FSCK_ERRORS: i32 = 26;
pub const DEPRECATED_FS: i32 = 27;
