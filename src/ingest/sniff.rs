//! Recognising files that are not what their name says, by their first
//! bytes (magic numbers), before any parser sees them: a workbook, an
//! archive, a PDF or a program renamed `.csv` gets its name and a hint,
//! not a screenful of binary in an error message.

use super::IngestError;
use super::InputFormat;

/// What a file's first bytes say it is, when that is not delimited text or
/// JSON Lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    Parquet,
    /// Office Open XML workbook (zip with `xl/` parts).
    Xlsx,
    /// OpenDocument spreadsheet (zip with that mimetype).
    Ods,
    /// Compound File Binary: Excel 97-2003 `.xls` (or another old Office file).
    Xls,
    Zip,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
    SevenZip,
    Pdf,
    Elf,
    Png,
    Jpeg,
    Gif,
    /// A NUL byte in the first block of a file without a UTF-16 byte-order mark.
    Binary,
}

impl Signature {
    /// What to call it in a message.
    pub fn name(self) -> &'static str {
        match self {
            Signature::Parquet => "a Parquet file",
            Signature::Xlsx => "an Excel workbook (.xlsx)",
            Signature::Ods => "an OpenDocument spreadsheet (.ods)",
            Signature::Xls => "an Excel 97-2003 workbook (.xls) or another old Office file",
            Signature::Zip => "a zip archive",
            Signature::Gzip => "a gzip-compressed file",
            Signature::Bzip2 => "a bzip2-compressed file",
            Signature::Xz => "an xz-compressed file",
            Signature::Zstd => "a zstd-compressed file",
            Signature::SevenZip => "a 7-Zip archive",
            Signature::Pdf => "a PDF document",
            Signature::Elf => "a program (ELF executable)",
            Signature::Png => "a PNG image",
            Signature::Jpeg => "a JPEG image",
            Signature::Gif => "a GIF image",
            Signature::Binary => "a binary file, not text",
        }
    }

    /// What the user can do about it.
    pub fn hint(self) -> &'static str {
        match self {
            Signature::Parquet => "use --input-format parquet or the .parquet extension",
            Signature::Xlsx => "evidex reads workbooks: give the file its .xlsx extension or use --input-format xlsx",
            Signature::Ods => "evidex reads workbooks: give the file its .ods extension or use --input-format ods",
            Signature::Xls => "evidex reads workbooks: give the file its .xls extension or use --input-format xls",
            Signature::Zip | Signature::SevenZip => "unpack it and give the table inside",
            Signature::Gzip | Signature::Bzip2 | Signature::Xz | Signature::Zstd => {
                "decompress it first (e.g. `gunzip FILE`) and give the table inside"
            }
            Signature::Pdf => "export the table from the document as CSV",
            Signature::Elf | Signature::Png | Signature::Jpeg | Signature::Gif | Signature::Binary => {
                "give an evidence table (CSV, TSV, JSON Lines, Parquet or a workbook)"
            }
        }
    }
}

/// The signature of `bytes`, if they start like a known non-text format.
pub fn signature(bytes: &[u8]) -> Option<Signature> {
    let starts = |m: &[u8]| bytes.starts_with(m);
    if starts(b"PAR1") {
        return Some(Signature::Parquet);
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        let head = &bytes[..bytes.len().min(4096)];
        let has = |needle: &[u8]| memchr::memmem::find(head, needle).is_some();
        return Some(if has(b"application/vnd.oasis.opendocument.spreadsheet") {
            Signature::Ods
        } else if has(b"xl/") || has(b"[Content_Types].xml") && has(b"workbook") {
            Signature::Xlsx
        } else {
            Signature::Zip
        });
    }
    let sig = if starts(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        Signature::Xls
    } else if starts(b"\x1F\x8B") {
        Signature::Gzip
    } else if starts(b"BZh") && bytes.get(3).is_some_and(u8::is_ascii_digit) {
        Signature::Bzip2
    } else if starts(b"\xFD7zXZ\x00") {
        Signature::Xz
    } else if starts(b"\x28\xB5\x2F\xFD") {
        Signature::Zstd
    } else if starts(b"7z\xBC\xAF\x27\x1C") {
        Signature::SevenZip
    } else if starts(b"%PDF-") {
        Signature::Pdf
    } else if starts(b"\x7FELF") {
        Signature::Elf
    } else if starts(b"\x89PNG\r\n\x1A\n") {
        Signature::Png
    } else if starts(b"\xFF\xD8\xFF") {
        Signature::Jpeg
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Signature::Gif
    } else {
        let utf16 = starts(b"\xFF\xFE") || starts(b"\xFE\xFF");
        let head = &bytes[..bytes.len().min(8192)];
        if !utf16 && memchr::memchr(0, head).is_some() {
            Signature::Binary
        } else {
            return None;
        }
    };
    Some(sig)
}

fn looks_like(s: Signature, path: &str) -> IngestError {
    IngestError::NotATable { path: path.into(), what: format!("this looks like {}", s.name()), hint: s.hint().into() }
}

/// Check that `bytes` can be read as `format`.
///
/// # Errors
/// [`IngestError::NotATable`] naming what the file looks like and what to
/// do, for a non-text file read as text, or a file read as Parquet that
/// does not start like one.
pub fn check(bytes: &[u8], format: InputFormat, path: &str) -> Result<(), IngestError> {
    let sig = signature(bytes);
    match (format, sig) {
        (InputFormat::Parquet, Some(Signature::Parquet)) => Ok(()),
        (InputFormat::Parquet, Some(s)) => Err(looks_like(s, path)),
        (InputFormat::Parquet, None) => Err(IngestError::NotATable {
            path: path.into(),
            what: "is not a Parquet file (it does not start with the PAR1 signature)".into(),
            hint: "if it is a text table, use --input-format csv, tsv or jsonl".into(),
        }),
        (InputFormat::Xlsx | InputFormat::Ods, Some(Signature::Xlsx | Signature::Ods | Signature::Zip))
        | (InputFormat::Xls, Some(Signature::Xls)) => Ok(()),
        (InputFormat::Xlsx | InputFormat::Xls | InputFormat::Ods, Some(s)) => Err(looks_like(s, path)),
        (InputFormat::Xlsx | InputFormat::Xls | InputFormat::Ods, None) => Err(IngestError::NotATable {
            path: path.into(),
            what: format!(
                "is not an {} workbook (it does not start like one)",
                if format == InputFormat::Ods { "OpenDocument" } else { "Excel" }
            ),
            hint: "if it is a text table, use --input-format csv, tsv or jsonl".into(),
        }),
        (_, Some(s)) => Err(looks_like(s, path)),
        (_, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_by_first_bytes() {
        assert_eq!(signature(b"PAR1\x15\x04"), Some(Signature::Parquet));
        assert_eq!(signature(b"PK\x03\x04....[Content_Types].xml....xl/workbook.xml"), Some(Signature::Xlsx));
        assert_eq!(
            signature(b"PK\x03\x04....mimetypeapplication/vnd.oasis.opendocument.spreadsheet"),
            Some(Signature::Ods)
        );
        assert_eq!(signature(b"PK\x03\x04....notes.txt"), Some(Signature::Zip));
        assert_eq!(signature(b"\x1F\x8B\x08\x00"), Some(Signature::Gzip));
        assert_eq!(signature(b"%PDF-1.7\n"), Some(Signature::Pdf));
        assert_eq!(signature(b"\x7FELF\x02\x01"), Some(Signature::Elf));
        assert_eq!(signature(b"\x89PNG\r\n\x1A\n...."), Some(Signature::Png));
        assert_eq!(signature(b"a,b\n1,\x002\n"), Some(Signature::Binary));
        // Text, including UTF-16 with its byte-order mark (NUL bytes are fine there).
        assert_eq!(signature(b"intervention,rating\nX,effective\n"), None);
        assert_eq!(signature(b"\xFF\xFEa\x00,\x00b\x00"), None);
        assert_eq!(signature(b"PKU,rating\n"), None);
    }

    #[test]
    fn parquet_read_as_csv_gets_the_hint() {
        let e = check(b"PAR1....", InputFormat::Csv, "x.csv").unwrap_err().to_string();
        assert!(e.contains("looks like a Parquet file") && e.contains("--input-format parquet"), "{e}");
        let e = check(b"a,b\n1,2\n", InputFormat::Parquet, "x.parquet").unwrap_err().to_string();
        assert!(e.contains("PAR1"), "{e}");
        assert!(check(b"a,b\n1,2\n", InputFormat::Csv, "x.csv").is_ok());
    }
}
