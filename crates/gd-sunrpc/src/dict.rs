//! GlusterFS's serialized `dict_t`: the key/value blob inside every `opaque xdata<>` /
//! `opaque dict<>` field of the management messages (GETSPEC's op-version range and brick
//! name, GETSPEC's reply server list and shd pidfile, GET_VOLUME_INFO's volume id, ...).
//!
//! Format (`libglusterfs/src/dict.c`, checked against `dict_allocate_and_serialize` of the
//! installed 10.3, fixtures `dict_*.hex`): all integers big-endian, no padding anywhere.
//!
//! ```text
//! dict := count:i32  pair{count}
//! pair := keylen:i32  vallen:i32  key[keylen]  0x00  value[vallen]
//! ```
//!
//! The key's NUL is written but not counted in `keylen`. Values are untyped bytes on the wire:
//! strings and numbers (GlusterFS prints numbers as decimal text) carry their trailing NUL in
//! `vallen`, binary values (uuids) do not. A receiver reads every value as a string
//! (`GF_DATA_TYPE_STR_OLD`), so [`Dict::set_str`] and the number setters always append the NUL,
//! and the typed getters accept a value with or without it.
//!
//! GlusterFS sends pairs most-recently-inserted first; receivers do not care about order. A
//! [`Dict`] keeps the wire order: decoding preserves it and encoding emits pairs in the order
//! they were set. An empty `xdata` is usually sent as zero bytes rather than a zero count;
//! [`Dict::from_xdata`] accepts both and [`Dict::to_xdata`] sends the former, as GD1 does.
//!
//! Decoding is bounded by the blob: every length is checked against the bytes left before
//! anything is allocated, so a blob of n bytes costs O(n) memory whatever its header claims.

/// Bytes of one pair besides its key and value: two lengths and the key's NUL.
const PAIR_OVERHEAD: usize = 9;

/// Why a dict blob could not be decoded or encoded, or a value could not be read as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DictError {
    /// The blob ends inside the item at `offset`.
    #[error("dict truncated at byte {offset}: {what} needs {needed} bytes, {available} left")]
    Truncated {
        /// The item being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// A count or length is negative (they are signed on the wire).
    #[error("dict {what} at byte {offset} is negative ({value})")]
    Negative {
        /// The item.
        what: &'static str,
        /// Where it is.
        offset: usize,
        /// Its value.
        value: i32,
    },
    /// The key at `offset` is not followed by its NUL byte.
    #[error("dict key at byte {offset} is not NUL-terminated")]
    KeyNotTerminated {
        /// Where the key starts.
        offset: usize,
    },
    /// A key is not valid UTF-8 or contains a NUL byte.
    #[error("dict key at byte {offset} is not a valid key (UTF-8 without NUL)")]
    InvalidKey {
        /// Where the key starts (0 when encoding).
        offset: usize,
    },
    /// Bytes are left after the last pair.
    #[error("{0} unexpected bytes after the dict")]
    TrailingBytes(usize),
    /// The dict does not fit in the 31-bit lengths of the format.
    #[error("dict too large to serialize")]
    TooLarge,
    /// A value asked for as a string is not UTF-8 text.
    #[error("dict value of {key:?} is not a string")]
    NotAString {
        /// The key.
        key: String,
    },
    /// A value asked for as a number does not parse as one of that type.
    #[error("dict value of {key:?} is not a valid {ty}: {text:?}")]
    NotANumber {
        /// The key.
        key: String,
        /// The type asked for.
        ty: &'static str,
        /// The text found.
        text: String,
    },
}

/// A GlusterFS dict: ordered key/value pairs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dict {
    pairs: Vec<(String, Vec<u8>)>,
}

impl Dict {
    /// An empty dict.
    pub fn new() -> Self {
        Dict::default()
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs in wire order, values as raw bytes (strings with their NUL).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Sets `key` to raw bytes, sent as they are (GlusterFS's `dict_set_bin`). Replaces any
    /// existing value of `key`; the pair moves to the end of the wire order.
    pub fn set_bin(&mut self, key: &str, value: impl Into<Vec<u8>>) {
        self.pairs.retain(|(k, _)| k != key);
        self.pairs.push((key.to_owned(), value.into()));
    }

    /// Sets `key` to a string, sent with its trailing NUL (`dict_set_str`). A C reader stops at
    /// the first NUL, so a value containing one is read truncated.
    pub fn set_str(&mut self, key: &str, value: &str) {
        let mut bytes = Vec::with_capacity(value.len() + 1);
        bytes.extend_from_slice(value.as_bytes());
        bytes.push(0);
        self.set_bin(key, bytes);
    }

    /// Sets `key` to an `int32` (decimal text, as `dict_set_int32`).
    pub fn set_i32(&mut self, key: &str, value: i32) {
        self.set_str(key, &value.to_string());
    }

    /// Sets `key` to an `int64` (decimal text).
    pub fn set_i64(&mut self, key: &str, value: i64) {
        self.set_str(key, &value.to_string());
    }

    /// Sets `key` to a `uint32` (decimal text).
    pub fn set_u32(&mut self, key: &str, value: u32) {
        self.set_str(key, &value.to_string());
    }

    /// Sets `key` to a `uint64` (decimal text).
    pub fn set_u64(&mut self, key: &str, value: u64) {
        self.set_str(key, &value.to_string());
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.pairs.len();
        self.pairs.retain(|(k, _)| k != key);
        self.pairs.len() != before
    }

    /// The raw value of `key`. If a decoded blob held the key twice, the later pair wins (as
    /// it does in GlusterFS, where a later insertion shadows an earlier one).
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// The value of `key` as a string: UTF-8 up to an optional single trailing NUL, no other
    /// NUL.
    pub fn get_str(&self, key: &str) -> Result<Option<&str>, DictError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let text = value.strip_suffix(&[0]).unwrap_or(value);
        match std::str::from_utf8(text) {
            Ok(s) if !s.contains('\0') => Ok(Some(s)),
            _ => Err(DictError::NotAString {
                key: key.to_owned(),
            }),
        }
    }

    fn get_number<T: std::str::FromStr>(
        &self,
        key: &str,
        ty: &'static str,
    ) -> Result<Option<T>, DictError> {
        let Some(text) = self.get_str(key)? else {
            return Ok(None);
        };
        text.parse().map(Some).map_err(|_| DictError::NotANumber {
            key: key.to_owned(),
            ty,
            text: text.to_owned(),
        })
    }

    /// The value of `key` as an `int32` (decimal text, as every GlusterFS sender writes it).
    pub fn get_i32(&self, key: &str) -> Result<Option<i32>, DictError> {
        self.get_number(key, "int32")
    }

    /// The value of `key` as an `int64`.
    pub fn get_i64(&self, key: &str) -> Result<Option<i64>, DictError> {
        self.get_number(key, "int64")
    }

    /// The value of `key` as a `uint32`.
    pub fn get_u32(&self, key: &str) -> Result<Option<u32>, DictError> {
        self.get_number(key, "uint32")
    }

    /// The value of `key` as a `uint64`.
    pub fn get_u64(&self, key: &str) -> Result<Option<u64>, DictError> {
        self.get_number(key, "uint64")
    }

    /// The serialized blob (count, then pairs), also for an empty dict (4 zero bytes).
    pub fn to_bytes(&self) -> Result<Vec<u8>, DictError> {
        let size = self.pairs.iter().try_fold(4usize, |acc, (k, v)| {
            acc.checked_add(PAIR_OVERHEAD)?
                .checked_add(k.len())?
                .checked_add(v.len())
        });
        let size = size
            .filter(|&s| s <= i32::MAX as usize)
            .ok_or(DictError::TooLarge)?;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&(self.pairs.len() as u32).to_be_bytes());
        for (key, value) in &self.pairs {
            if key.contains('\0') {
                return Err(DictError::InvalidKey { offset: 0 });
            }
            out.extend_from_slice(&(key.len() as u32).to_be_bytes());
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(key.as_bytes());
            out.push(0);
            out.extend_from_slice(value);
        }
        Ok(out)
    }

    /// The `xdata`/`dict` opaque field for this dict: empty when the dict is empty (as GD1
    /// sends it), the serialized blob otherwise.
    pub fn to_xdata(&self) -> Result<Vec<u8>, DictError> {
        if self.is_empty() {
            Ok(Vec::new())
        } else {
            self.to_bytes()
        }
    }

    /// Decodes an `xdata`/`dict` opaque field: empty means an empty dict.
    pub fn from_xdata(xdata: &[u8]) -> Result<Dict, DictError> {
        if xdata.is_empty() {
            Ok(Dict::new())
        } else {
            Dict::from_bytes(xdata)
        }
    }

    /// Decodes a serialized blob, which must hold exactly one dict.
    pub fn from_bytes(blob: &[u8]) -> Result<Dict, DictError> {
        let mut r = Cursor { blob, pos: 0 };
        let count = r.length("count")?;
        // Each pair takes at least PAIR_OVERHEAD bytes: never reserve more than the blob holds.
        let mut pairs = Vec::with_capacity(count.min(r.left() / PAIR_OVERHEAD));
        for _ in 0..count {
            let keylen = r.length("keylen")?;
            let vallen = r.length("vallen")?;
            let key_at = r.pos;
            let key = r.take("key", keylen)?;
            if r.take("key terminator", 1)? != [0] {
                return Err(DictError::KeyNotTerminated { offset: key_at });
            }
            let key = std::str::from_utf8(key)
                .ok()
                .filter(|k| !k.contains('\0'))
                .ok_or(DictError::InvalidKey { offset: key_at })?;
            let value = r.take("value", vallen)?;
            pairs.push((key.to_owned(), value.to_vec()));
        }
        match r.left() {
            0 => Ok(Dict { pairs }),
            n => Err(DictError::TrailingBytes(n)),
        }
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Dict {
    /// A dict of string values, in iteration order.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut dict = Dict::new();
        for (k, v) in iter {
            dict.set_str(k.as_ref(), v.as_ref());
        }
        dict
    }
}

struct Cursor<'a> {
    blob: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn left(&self) -> usize {
        self.blob.len() - self.pos
    }

    fn take(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], DictError> {
        if n > self.left() {
            return Err(DictError::Truncated {
                what,
                offset: self.pos,
                needed: n,
                available: self.left(),
            });
        }
        let bytes = &self.blob[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn length(&mut self, what: &'static str) -> Result<usize, DictError> {
        let offset = self.pos;
        let b = self.take(what, 4)?;
        let value = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        usize::try_from(value).map_err(|_| DictError::Negative {
            what,
            offset,
            value,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::test_util::hex;

    /// §3 of the research notes: `dict_allocate_and_serialize` after setting
    /// min-op-version=1, max-op-version=100000, brick_name="/b1" (82 bytes).
    pub(crate) const NOTES_DICT: &str = "00000003 \
        0000000a 00000004 627269636b5f6e616d6500 2f623100 \
        0000000e 00000007 6d61782d6f702d76657273696f6e00 31303030303000 \
        0000000e 00000002 6d696e2d6f702d76657273696f6e00 3100";

    fn notes_dict() -> Dict {
        let mut d = Dict::new();
        d.set_str("brick_name", "/b1");
        d.set_i32("max-op-version", 100_000);
        d.set_str("min-op-version", "1");
        d
    }

    #[test]
    fn notes_example_encodes_byte_for_byte() {
        let bytes = notes_dict().to_bytes().unwrap();
        assert_eq!(bytes.len(), 82);
        assert_eq!(bytes, hex(NOTES_DICT));
    }

    #[test]
    fn notes_example_decodes() {
        let d = Dict::from_bytes(&hex(NOTES_DICT)).unwrap();
        assert_eq!(d, notes_dict());
        assert_eq!(d.get_str("brick_name").unwrap(), Some("/b1"));
        assert_eq!(d.get_i32("min-op-version").unwrap(), Some(1));
        assert_eq!(d.get_u64("max-op-version").unwrap(), Some(100_000));
        assert_eq!(d.get("brick_name"), Some(&b"/b1\0"[..]));
        assert_eq!(d.get_str("absent").unwrap(), None);
        assert_eq!(
            d.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["brick_name", "max-op-version", "min-op-version"]
        );
    }

    #[test]
    fn empty_xdata_both_ways() {
        assert_eq!(Dict::new().to_xdata().unwrap(), Vec::<u8>::new());
        assert_eq!(Dict::new().to_bytes().unwrap(), [0, 0, 0, 0]);
        assert!(Dict::from_xdata(&[]).unwrap().is_empty());
        assert!(Dict::from_xdata(&[0, 0, 0, 0]).unwrap().is_empty());
        // dict_unserialize of 0 bytes is an error in GlusterFS; from_bytes agrees.
        assert!(matches!(
            Dict::from_bytes(&[]),
            Err(DictError::Truncated { what: "count", .. })
        ));
    }

    #[test]
    fn values_with_and_without_nul() {
        let mut d = Dict::new();
        d.set_bin("uuid", [0x11u8; 16]);
        d.set_bin("bare", b"42".to_vec());
        d.set_str("empty", "");
        assert_eq!(d.get_i32("bare").unwrap(), Some(42));
        assert_eq!(d.get_str("empty").unwrap(), Some(""));
        assert_eq!(d.get("empty"), Some(&[0u8][..]));
        assert_eq!(d.get("uuid"), Some(&[0x11u8; 16][..]));
        d.set_bin("bin", [0xffu8, 0]);
        assert_eq!(
            d.get_str("bin"),
            Err(DictError::NotAString { key: "bin".into() })
        );
        assert!(matches!(
            d.get_i32("empty"),
            Err(DictError::NotANumber { ty: "int32", .. })
        ));
    }

    #[test]
    fn set_replaces_and_later_duplicates_win() {
        let mut d = Dict::new();
        d.set_str("a", "1");
        d.set_str("b", "2");
        d.set_str("a", "3");
        assert_eq!(d.len(), 2);
        assert_eq!(d.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["b", "a"]);
        assert!(d.remove("b"));
        assert!(!d.remove("b"));
        // a blob holding "k" twice
        let blob = hex("00000002 00000001 00000002 6b00 3100 00000001 00000002 6b00 3200");
        let d = Dict::from_bytes(&blob).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.get_str("k").unwrap(), Some("2"));
        assert_eq!(d.to_bytes().unwrap(), blob);
    }

    #[test]
    fn malformed_blobs_are_errors() {
        let negative = hex("ffffffff");
        assert!(matches!(
            Dict::from_bytes(&negative),
            Err(DictError::Negative { what: "count", .. })
        ));
        // a count of 2^31-1 on a tiny blob: no allocation, just truncation
        assert!(matches!(
            Dict::from_bytes(&hex("7fffffff 00000001")),
            Err(DictError::Truncated { .. })
        ));
        let unterminated = hex("00000001 00000001 00000000 6b 78");
        assert_eq!(
            Dict::from_bytes(&unterminated),
            Err(DictError::KeyNotTerminated { offset: 12 })
        );
        let nul_in_key = hex("00000001 00000002 00000000 6b00 00");
        assert_eq!(
            Dict::from_bytes(&nul_in_key),
            Err(DictError::InvalidKey { offset: 12 })
        );
        let negative_len = hex("00000001 00000001 80000000 6b00");
        assert!(matches!(
            Dict::from_bytes(&negative_len),
            Err(DictError::Negative { what: "vallen", .. })
        ));
        let trailing = hex("00000000 00");
        assert_eq!(
            Dict::from_bytes(&trailing),
            Err(DictError::TrailingBytes(1))
        );
        let mut d = Dict::new();
        d.set_str("a\0b", "x");
        assert_eq!(d.to_bytes(), Err(DictError::InvalidKey { offset: 0 }));
    }

    #[test]
    fn from_iterator_of_strings() {
        let d: Dict = [("volname", "v1"), ("flags", "1")].into_iter().collect();
        assert_eq!(d.get_str("volname").unwrap(), Some("v1"));
        assert_eq!(d.get_i32("flags").unwrap(), Some(1));
    }
}
