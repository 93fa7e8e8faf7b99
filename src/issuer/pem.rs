//! PEM blocks in and out. Bundles hold several blocks and text may sit
//! between them; the label says how to read the DER inside.

use base64::Engine;

/// One PEM block: its label (`CERTIFICATE`, `EC PRIVATE KEY`...) and DER.
#[derive(Clone, PartialEq, Eq)]
pub struct Block {
    pub label: String,
    pub der: Vec<u8>,
}

/// The label and the DER's length: a block may hold a private key.
impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block").field("label", &self.label).field("der", &Redacted(self.der.len())).finish()
    }
}

/// Debug output standing for `n` bytes of secret material.
pub struct Redacted(pub usize);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[REDACTED {} bytes]", self.0)
    }
}

/// Every PEM block in `text`, in order. A malformed block is an error
/// naming its position, never silently skipped.
pub fn blocks(text: &[u8]) -> Result<Vec<Block>, String> {
    x509_parser::pem::Pem::iter_from_buffer(text)
        .enumerate()
        .map(|(i, pem)| pem.map(|p| Block { label: p.label, der: p.contents }).map_err(|e| format!("PEM block {}: {e}", i + 1)))
        .collect()
}

/// The DER of every `CERTIFICATE` block.
pub fn certificates(text: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    Ok(blocks(text)?.into_iter().filter(|b| b.label == "CERTIFICATE").map(|b| b.der).collect())
}

/// Encodes DER as PEM with 64-column lines, as openssl and Go write it.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_label_and_length_only() {
        let block = Block { label: "PRIVATE KEY".into(), der: b"KEYBYTES-0123456789".to_vec() };
        let debug = format!("{block:?} {block:#?}");
        assert!(debug.contains("PRIVATE KEY") && debug.contains("[REDACTED 19 bytes]"), "{debug}");
        assert!(!debug.contains("75, 69, 89") && !debug.contains("KEYBYTES"), "{debug}");
    }

    #[test]
    fn round_trips_and_skips_text_between_blocks() {
        let der: Vec<u8> = (0..100u8).collect();
        let text = format!("comment\n{}\nmore text\n{}", encode("CERTIFICATE", &der), encode("EC PRIVATE KEY", &[1, 2]));
        let got = blocks(text.as_bytes()).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], Block { label: "CERTIFICATE".into(), der: der.clone() });
        assert_eq!(got[1].label, "EC PRIVATE KEY");
        assert_eq!(certificates(text.as_bytes()).unwrap(), vec![der]);
    }

    #[test]
    fn lines_are_64_columns() {
        let pem = encode("X", &[0u8; 100]);
        assert!(pem.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
    }

    #[test]
    fn broken_base64_is_an_error() {
        let text = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(blocks(text.as_bytes()).unwrap_err().contains("PEM block 1"));
    }
}
