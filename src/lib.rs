//! The shared core of armorbox: everything the applets have in common and that can be
//! tested without a command line. Applets (in `applets/`) stay thin: they parse their
//! command line, call into this library and map its errors to exit codes.

pub mod crypto;
pub mod exit;
pub mod gocryptfs;
pub mod lzma;
pub mod secret;
pub mod sevenz;
pub mod sys;
pub mod terminal;
pub mod vaultfs;
