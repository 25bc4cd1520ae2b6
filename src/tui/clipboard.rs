//! Copying text with OSC 52: the terminal emulator itself sets its clipboard, so it works over
//! SSH with no clipboard tool on the server.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The escape sequence that asks the terminal to put `text` on the clipboard.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", STANDARD.encode(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_text_in_base64() {
        assert_eq!(osc52("abc@102"), "\x1b]52;c;YWJjQDEwMg==\x07");
    }
}
