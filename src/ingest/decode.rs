//! Bytes to text: encoding detection (UTF-8 with or without BOM, UTF-16 with
//! BOM, otherwise Windows-1252 as written by Excel on Windows) and delimiter
//! sniffing.

use std::borrow::Cow;

/// The text encoding an input file was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum TextEncoding {
    #[serde(rename = "UTF-8")]
    Utf8,
    #[serde(rename = "UTF-8 (BOM)")]
    Utf8Bom,
    #[serde(rename = "UTF-16LE")]
    Utf16Le,
    #[serde(rename = "UTF-16BE")]
    Utf16Be,
    #[serde(rename = "Windows-1252")]
    Windows1252,
}

impl TextEncoding {
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 (BOM)",
            TextEncoding::Utf16Le => "UTF-16LE",
            TextEncoding::Utf16Be => "UTF-16BE",
            TextEncoding::Windows1252 => "Windows-1252",
        }
    }
}

/// Decode a whole file. Invalid UTF-8 without a BOM is read as Windows-1252
/// (a superset of Latin-1's printable range), which is what Excel on Windows
/// writes for "CSV"; every byte sequence decodes, so no input is refused here.
pub fn decode(bytes: &[u8]) -> (Cow<'_, str>, TextEncoding) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let (text, _) = encoding_rs::UTF_8.decode_without_bom_handling(rest);
        return (text, TextEncoding::Utf8Bom);
    }
    if bytes.starts_with(b"\xFF\xFE") {
        let (text, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(&bytes[2..]);
        return (Cow::Owned(text.into_owned()), TextEncoding::Utf16Le);
    }
    if bytes.starts_with(b"\xFE\xFF") {
        let (text, _) = encoding_rs::UTF_16BE.decode_without_bom_handling(&bytes[2..]);
        return (Cow::Owned(text.into_owned()), TextEncoding::Utf16Be);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s), TextEncoding::Utf8),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (text, TextEncoding::Windows1252)
        }
    }
}

/// Pick the delimiter among `,`, `;` and tab: the candidate that appears
/// (outside quotes) on the header line and most consistently on the next
/// lines. Falls back to `,`.
pub fn sniff_delimiter(text: &str) -> u8 {
    let lines = logical_lines(text, 20);
    if lines.is_empty() {
        return b',';
    }
    let mut best = (b',', 0usize, 0usize);
    for cand in [b',', b';', b'\t'] {
        let header = count_outside_quotes(lines[0], cand);
        if header == 0 {
            continue;
        }
        let consistent = lines[1..].iter().filter(|l| count_outside_quotes(l, cand) == header).count();
        // Prefer consistency with the header, then more fields.
        if (consistent, header) > (best.1, best.2) {
            best = (cand, consistent, header);
        }
    }
    best.0
}

/// Up to `max` lines, joining lines whose quotes are unbalanced (quoted
/// fields with embedded newlines).
fn logical_lines(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                let line = text[start..i].trim_end_matches('\r');
                if !line.trim().is_empty() {
                    out.push(line);
                }
                start = i + 1;
                if out.len() >= max {
                    return out;
                }
            }
            _ => {}
        }
    }
    if start < text.len() && !text[start..].trim().is_empty() {
        out.push(&text[start..]);
    }
    out
}

fn count_outside_quotes(line: &str, delim: u8) -> usize {
    let mut in_quotes = false;
    let mut n = 0;
    for b in line.bytes() {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == delim && !in_quotes {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bom_and_cp1252() {
        let (t, e) = decode(b"\xEF\xBB\xBFa,b\n");
        assert_eq!((t.as_ref(), e), ("a,b\n", TextEncoding::Utf8Bom));
        // "Côte d'Ivoire;Sánchez" in Windows-1252
        let (t, e) = decode(b"C\xF4te d'Ivoire;S\xE1nchez");
        assert_eq!(e, TextEncoding::Windows1252);
        assert_eq!(t, "Côte d'Ivoire;Sánchez");
        // Euro sign is 0x80 in Windows-1252 (not a Latin-1 control char).
        assert_eq!(decode(b"\x80 5").0, "€ 5");
        let (t, e) = decode("Côte".as_bytes());
        assert_eq!((t.as_ref(), e), ("Côte", TextEncoding::Utf8));
    }

    #[test]
    fn utf16_bom() {
        let mut b = vec![0xFF, 0xFE];
        for u in "a;b".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&b), (Cow::Owned::<str>("a;b".into()), TextEncoding::Utf16Le));
    }

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter("a;b;c\n1,5;2,5;3\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_delimiter("\"x;y\",b\n\"1;2\",3\n"), b',');
        assert_eq!(sniff_delimiter("single\n1\n"), b',');
    }
}
