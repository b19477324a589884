//! argh for the applets whose command line is ordinary `--long` flags: UTF-8 checked,
//! `--help` printed with exit 0, errors turned into the applet's usage exit code.

use armorbox::exit::Failure;
use std::ffi::OsString;

pub fn parse<T: argh::FromArgs>(name: &str, args: &[OsString], usage_code: i32) -> Result<T, Failure> {
    let strings: Vec<&str> = args
        .iter()
        .map(|a| a.to_str().ok_or_else(|| Failure::new(usage_code, "arguments must be valid UTF-8")))
        .collect::<Result<_, _>>()?;
    T::from_args(&[name], &strings).map_err(|early| match early.status {
        // --help: the text is the whole answer; exit 0 with nothing more to say.
        Ok(()) => {
            print!("{}", early.output);
            Failure::silent(0)
        }
        Err(()) => Failure::new(usage_code, format!("{}\nRun '{name} --help' for usage.", early.output.trim_end())),
    })
}
