//! Reading a password without it ever touching argv, the shell history or the screen: a no-echo
//! prompt on the terminal, or one line of standard input when that is a pipe.

use std::io::{BufRead, IsTerminal};

/// Reads one password. On a terminal: prompts on the TTY with echo off. Otherwise: the first line
/// of standard input, without its line ending (`\n` or `\r\n`); other whitespace is kept, since
/// it is part of the password.
pub fn read_password(prompt: &str) -> std::io::Result<String> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
    } else {
        read_line_from(std::io::stdin().lock())
    }
}

/// The first line of `r`, without its line ending.
pub fn read_line_from(mut r: impl BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_stripped_spaces_kept() {
        assert_eq!(
            read_line_from(&b" pass word \r\nnext"[..]).unwrap(),
            " pass word "
        );
        assert_eq!(read_line_from(&b"abc"[..]).unwrap(), "abc");
        assert_eq!(read_line_from(&b""[..]).unwrap(), "");
    }
}
