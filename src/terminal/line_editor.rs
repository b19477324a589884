//! The keys of a masked password line, as a pure state machine: bytes from the terminal
//! in, the password and what to draw out. Kept free of I/O so every key is unit-tested.

use crate::secret::SecretBuf;

const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const TAB: u8 = 0x09;
const LINE_FEED: u8 = 0x0a;
const CARRIAGE_RETURN: u8 = 0x0d;
const CTRL_U: u8 = 0x15;
const CTRL_Z: u8 = 0x1a;
const ESCAPE: u8 = 0x1b;
const DELETE: u8 = 0x7f;

/// Erases one star: back, blank, back.
pub const ERASE_ONE: &[u8] = b"\x08 \x08";

/// What the prompt loop must do after a byte.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Keep reading; draw these bytes (stars or erasures, possibly none).
    Continue(Vec<u8>),
    /// Enter: the password is complete.
    Submit,
    /// Ctrl-C.
    Interrupt,
    /// Ctrl-D on an empty line.
    EndOfInput,
    /// Ctrl-Z: the user wants the job suspended.
    Suspend,
}

/// Where we are inside an escape sequence (arrow keys and the like), which is skipped
/// whole rather than taken into the password.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EscapeState {
    None,
    /// Just saw ESC.
    Started,
    /// In `ESC [ …` until a final byte 0x40..=0x7e.
    Csi,
    /// In `ESC O x`: one more byte.
    Ss3,
}

/// The line being typed.
pub struct LineEditor {
    password: SecretBuf,
    escape: EscapeState,
}

impl LineEditor {
    pub fn new() -> Self {
        LineEditor { password: SecretBuf::new(), escape: EscapeState::None }
    }

    /// Number of characters typed so far (one star each).
    pub fn char_count(&self) -> usize {
        self.password.expose().iter().filter(|&&b| !is_utf8_continuation(b)).count()
    }

    pub fn into_password(self) -> SecretBuf {
        self.password
    }

    pub fn feed(&mut self, byte: u8) -> KeyOutcome {
        if self.escape != EscapeState::None {
            self.skip_escape(byte);
            return KeyOutcome::Continue(Vec::new());
        }
        match byte {
            LINE_FEED | CARRIAGE_RETURN => KeyOutcome::Submit,
            CTRL_C => KeyOutcome::Interrupt,
            CTRL_D if self.password.is_empty() => KeyOutcome::EndOfInput,
            CTRL_Z => KeyOutcome::Suspend,
            BACKSPACE | DELETE => KeyOutcome::Continue(self.erase_last_char()),
            CTRL_U => KeyOutcome::Continue(self.erase_all()),
            ESCAPE => {
                self.escape = EscapeState::Started;
                KeyOutcome::Continue(Vec::new())
            }
            TAB => self.take(byte),
            b if b < 0x20 => KeyOutcome::Continue(Vec::new()),
            b => self.take(b),
        }
    }

    fn take(&mut self, byte: u8) -> KeyOutcome {
        self.password.push(byte);
        // One star per character: continuation bytes of a UTF-8 sequence draw nothing.
        if is_utf8_continuation(byte) { KeyOutcome::Continue(Vec::new()) } else { KeyOutcome::Continue(b"*".to_vec()) }
    }

    fn erase_last_char(&mut self) -> Vec<u8> {
        while let Some(b) = self.password.pop() {
            if !is_utf8_continuation(b) {
                return ERASE_ONE.to_vec();
            }
        }
        Vec::new()
    }

    fn erase_all(&mut self) -> Vec<u8> {
        let drawn = self.char_count();
        self.password.clear();
        ERASE_ONE.repeat(drawn)
    }

    fn skip_escape(&mut self, byte: u8) {
        self.escape = match (self.escape, byte) {
            (EscapeState::Started, b'[') => EscapeState::Csi,
            (EscapeState::Started, b'O') => EscapeState::Ss3,
            (EscapeState::Csi, 0x40..=0x7e) => EscapeState::None,
            (EscapeState::Csi, _) => EscapeState::Csi,
            // Alt+key (ESC x) and the last byte of ESC O x both end here.
            _ => EscapeState::None,
        };
    }
}

impl Default for LineEditor {
    fn default() -> Self {
        LineEditor::new()
    }
}

fn is_utf8_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds keys and returns the password, the screen output and the last outcome.
    fn type_keys(keys: &[u8]) -> (Vec<u8>, Vec<u8>, KeyOutcome) {
        let mut editor = LineEditor::new();
        let mut drawn = Vec::new();
        let mut last = KeyOutcome::Continue(Vec::new());
        for &k in keys {
            last = editor.feed(k);
            if let KeyOutcome::Continue(out) = &last {
                drawn.extend_from_slice(out);
            }
        }
        (editor.into_password().expose().to_vec(), drawn, last)
    }

    #[test]
    fn one_star_per_character_and_enter_submits() {
        let (pw, drawn, last) = type_keys(b"s3cret\r");
        assert_eq!(pw, b"s3cret");
        assert_eq!(drawn, b"******");
        assert_eq!(last, KeyOutcome::Submit);
    }

    #[test]
    fn multibyte_characters_draw_one_star_and_erase_whole() {
        let (pw, drawn, _) = type_keys("é€😀".as_bytes());
        assert_eq!(pw, "é€😀".as_bytes());
        assert_eq!(drawn, b"***");
        let mut keys = "aé€".as_bytes().to_vec();
        keys.push(DELETE);
        keys.push(DELETE);
        let (pw, _, _) = type_keys(&keys);
        assert_eq!(pw, b"a");
    }

    #[test]
    fn backspace_and_delete_remove_one_character_and_its_star() {
        let (pw, drawn, _) = type_keys(b"abc\x7fd\x08e");
        assert_eq!(pw, b"abe");
        assert_eq!(drawn, b"***\x08 \x08*\x08 \x08*");
        let (pw, drawn, _) = type_keys(b"\x7f\x7fa");
        assert_eq!(pw, b"a");
        assert_eq!(drawn, b"*");
    }

    #[test]
    fn ctrl_u_clears_the_line() {
        let (pw, drawn, _) = type_keys(b"ab\x15x");
        assert_eq!(pw, b"x");
        assert_eq!(drawn, b"**\x08 \x08\x08 \x08*");
    }

    #[test]
    fn ctrl_c_interrupts_and_ctrl_z_suspends() {
        assert_eq!(type_keys(b"ab\x03").2, KeyOutcome::Interrupt);
        assert_eq!(type_keys(b"ab\x1a").2, KeyOutcome::Suspend);
    }

    #[test]
    fn ctrl_d_ends_input_only_on_an_empty_line() {
        assert_eq!(type_keys(b"\x04").2, KeyOutcome::EndOfInput);
        let (pw, _, last) = type_keys(b"a\x04");
        assert_eq!(pw, b"a");
        assert_eq!(last, KeyOutcome::Continue(Vec::new()));
    }

    #[test]
    fn escape_sequences_are_skipped_whole() {
        // Left arrow (CSI), F1 (SS3), Alt+x, bracketed paste markers.
        let (pw, drawn, _) = type_keys(b"a\x1b[Db\x1bOPc\x1bxd\x1b[200~e\x1b[201~");
        assert_eq!(pw, b"abcde");
        assert_eq!(drawn, b"*****");
    }

    #[test]
    fn other_control_characters_are_ignored_but_tab_is_kept() {
        let (pw, _, _) = type_keys(b"a\x01\x02b\tc");
        assert_eq!(pw, b"ab\tc");
    }
}
