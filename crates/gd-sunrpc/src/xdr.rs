//! XDR (RFC 4506) encoding and decoding, by hand.
//!
//! GlusterFS's management messages are a handful of small structs, so two traits and a cursor
//! are all it takes; a derive macro or a `.x` compiler would cost more than they save (see
//! `research/rust-ecosystem.md` §5). The rules that keep a daemon safe against its peers live
//! here, once:
//!
//! - Decoding reads from a `&[u8]` through [`XdrReader`] and never panics: every read checks
//!   what is left, every variable-length item has a maximum, and nothing is allocated before
//!   its length has been checked against both the maximum and the bytes actually present.
//! - Encoding checks the same maxima, so we never send what we would refuse to receive.
//! - Errors say *what* was being read (a `'static` name such as `"GetspecReq.key"`) and *where*
//!   (the byte offset), so a bad message from a real client can be diagnosed from one log line.
//!
//! Padding bytes are not checked on input (libtirpc does not check them either) and are always
//! zero on output. XDR strings are C strings on the GlusterFS side: a string containing a NUL
//! byte is refused both ways, because the peer would silently truncate it.

use std::fmt;

/// An XDR decoding or encoding failure: what was being read or written, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {offset}: {kind}")]
pub struct XdrError {
    /// The item being processed, e.g. `"GetspecReq.key"` or `"CallHeader.prog"`.
    pub what: &'static str,
    /// Byte offset in the input (decoding) or output (encoding) where the item starts.
    pub offset: usize,
    /// The reason.
    pub kind: XdrErrorKind,
}

/// Why an XDR item could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XdrErrorKind {
    /// The input ends before the item does.
    #[error("truncated: needs {needed} bytes, {available} left")]
    Truncated {
        /// Bytes the item needs.
        needed: usize,
        /// Bytes left in the input.
        available: usize,
    },
    /// A length (or element count) is larger than this item allows.
    #[error("length {len} exceeds the maximum {max}")]
    TooLong {
        /// The length found (decoding) or given (encoding).
        len: u64,
        /// The maximum for this item.
        max: u64,
    },
    /// A fixed-length item was given the wrong number of bytes to encode.
    #[error("fixed length {expected}, got {len}")]
    WrongFixedLength {
        /// The item's fixed length.
        expected: usize,
        /// The length given.
        len: usize,
    },
    /// A boolean is neither 0 nor 1.
    #[error("invalid boolean {0}")]
    InvalidBool(u32),
    /// An enum or union discriminant this implementation does not know.
    #[error("unknown discriminant {0}")]
    UnknownDiscriminant(i64),
    /// A string is not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A string contains a NUL byte, which a C peer would truncate at.
    #[error("string contains a NUL byte")]
    NulInString,
    /// Bytes are left over after a complete message.
    #[error("{0} unexpected bytes after the end")]
    TrailingBytes(usize),
}

impl XdrError {
    /// Builds an error.
    pub fn new(what: &'static str, offset: usize, kind: XdrErrorKind) -> Self {
        XdrError { what, offset, kind }
    }
}

/// Number of zero bytes that pad `len` bytes to a multiple of 4.
pub const fn padding(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// A type that has an XDR encoding.
pub trait Encode {
    /// Appends the encoding of `self` to `w`. On error, `w` may hold a partial encoding and
    /// should be discarded.
    fn encode(&self, w: &mut XdrWriter) -> Result<(), XdrError>;

    /// The encoding of `self` as a fresh buffer.
    fn to_xdr(&self) -> Result<Vec<u8>, XdrError> {
        let mut w = XdrWriter::new();
        self.encode(&mut w)?;
        Ok(w.into_inner())
    }
}

/// A type that can be decoded from XDR.
pub trait Decode: Sized {
    /// Decodes one value at the reader's position, advancing it.
    fn decode(r: &mut XdrReader<'_>) -> Result<Self, XdrError>;

    /// Decodes a value that must span all of `bytes` (trailing bytes are an error).
    fn from_xdr(bytes: &[u8]) -> Result<Self, XdrError> {
        let mut r = XdrReader::new(bytes);
        let value = Self::decode(&mut r)?;
        r.finish(std::any::type_name::<Self>())?;
        Ok(value)
    }

    /// Decodes a value at the start of `bytes` and ignores what follows, as libtirpc and
    /// GD1 do with procedure arguments (a server that wants to be exactly as lenient as GD1
    /// decodes arguments with this; [`Decode::from_xdr`] is the strict alternative).
    fn from_xdr_prefix(bytes: &[u8]) -> Result<Self, XdrError> {
        Self::decode(&mut XdrReader::new(bytes))
    }
}

/// A decoding cursor over a byte slice.
#[derive(Clone)]
pub struct XdrReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl fmt::Debug for XdrReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XdrReader")
            .field("len", &self.buf.len())
            .field("pos", &self.pos)
            .finish()
    }
}

impl<'a> XdrReader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        XdrReader { buf, pos: 0 }
    }

    /// Current offset from the start of the buffer.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread rest of the buffer, without consuming it.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Fails with [`XdrErrorKind::TrailingBytes`] unless everything has been read.
    pub fn finish(&self, what: &'static str) -> Result<(), XdrError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(XdrError::new(
                what,
                self.pos,
                XdrErrorKind::TrailingBytes(n),
            )),
        }
    }

    /// Consumes exactly `n` bytes.
    fn take(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], XdrError> {
        let available = self.remaining();
        if n > available {
            return Err(XdrError::new(
                what,
                self.pos,
                XdrErrorKind::Truncated {
                    needed: n,
                    available,
                },
            ));
        }
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn array4(&mut self, what: &'static str) -> Result<[u8; 4], XdrError> {
        let b = self.take(what, 4)?;
        Ok([b[0], b[1], b[2], b[3]])
    }

    fn array8(&mut self, what: &'static str) -> Result<[u8; 8], XdrError> {
        let b = self.take(what, 8)?;
        Ok([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    /// An `unsigned int`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, XdrError> {
        self.array4(what).map(u32::from_be_bytes)
    }

    /// An `int`.
    pub fn i32(&mut self, what: &'static str) -> Result<i32, XdrError> {
        self.array4(what).map(i32::from_be_bytes)
    }

    /// An `unsigned hyper` (`u_quad_t`).
    pub fn u64(&mut self, what: &'static str) -> Result<u64, XdrError> {
        self.array8(what).map(u64::from_be_bytes)
    }

    /// A `hyper` (`quad_t`).
    pub fn i64(&mut self, what: &'static str) -> Result<i64, XdrError> {
        self.array8(what).map(i64::from_be_bytes)
    }

    /// A `bool`: 0 or 1, anything else is an error.
    pub fn bool(&mut self, what: &'static str) -> Result<bool, XdrError> {
        let at = self.pos;
        match self.u32(what)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(XdrError::new(what, at, XdrErrorKind::InvalidBool(v))),
        }
    }

    /// Fixed-length opaque data `opaque x[n]`: `n` bytes plus padding.
    pub fn fixed_opaque(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], XdrError> {
        let at = self.pos;
        let needed = n.saturating_add(padding(n));
        if needed > self.remaining() {
            return Err(XdrError::new(
                what,
                at,
                XdrErrorKind::Truncated {
                    needed,
                    available: self.remaining(),
                },
            ));
        }
        let bytes = self.take(what, n)?;
        self.take(what, padding(n))?;
        Ok(bytes)
    }

    /// Reads a length word and checks it against `max` and the input left.
    fn length(&mut self, what: &'static str, max: usize) -> Result<usize, XdrError> {
        let at = self.pos;
        let len = self.u32(what)?;
        if u64::from(len) > max as u64 {
            return Err(XdrError::new(
                what,
                at,
                XdrErrorKind::TooLong {
                    len: len.into(),
                    max: max as u64,
                },
            ));
        }
        Ok(len as usize)
    }

    /// Variable-length opaque data `opaque x<max>`, borrowed from the input.
    pub fn opaque(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], XdrError> {
        let at = self.pos;
        let len = self.length(what, max)?;
        self.fixed_opaque(what, len)
            .map_err(|e| XdrError { offset: at, ..e })
    }

    /// A `string x<max>`: valid UTF-8 without NUL bytes.
    pub fn string(&mut self, what: &'static str, max: usize) -> Result<String, XdrError> {
        let at = self.pos;
        let bytes = self.opaque(what, max)?;
        let text = std::str::from_utf8(bytes)
            .map_err(|_| XdrError::new(what, at, XdrErrorKind::InvalidUtf8))?;
        if text.contains('\0') {
            return Err(XdrError::new(what, at, XdrErrorKind::NulInString));
        }
        Ok(text.to_owned())
    }

    /// A variable-length array `T x<max>`.
    pub fn array<T: Decode>(&mut self, what: &'static str, max: usize) -> Result<Vec<T>, XdrError> {
        let count = self.length(what, max)?;
        // Every XDR item takes at least 4 bytes: never reserve more than the input can hold.
        let mut items = Vec::with_capacity(count.min(self.remaining() / 4));
        for _ in 0..count {
            items.push(T::decode(self)?);
        }
        Ok(items)
    }

    /// Optional data `T *x`: a boolean, then `T` if it is 1.
    pub fn optional<T: Decode>(&mut self, what: &'static str) -> Result<Option<T>, XdrError> {
        if self.bool(what)? {
            T::decode(self).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// An encoding buffer.
#[derive(Debug, Clone, Default)]
pub struct XdrWriter {
    buf: Vec<u8>,
}

impl XdrWriter {
    /// An empty writer.
    pub fn new() -> Self {
        XdrWriter::default()
    }

    /// A writer that appends to `buf` (which may already hold, say, a record mark).
    pub fn from_vec(buf: Vec<u8>) -> Self {
        XdrWriter { buf }
    }

    /// Bytes written so far (including those of the vector it was made from).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes written.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }

    /// An `unsigned int`.
    pub fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// An `int`.
    pub fn put_i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// An `unsigned hyper`.
    pub fn put_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A `hyper`.
    pub fn put_i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A `bool`.
    pub fn put_bool(&mut self, v: bool) {
        self.put_u32(u32::from(v));
    }

    fn put_padded(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(&[0; 3][..padding(data.len())]);
    }

    /// Checks a length against `max` (and the 32-bit length word) and writes it.
    fn put_length(&mut self, what: &'static str, len: usize, max: usize) -> Result<(), XdrError> {
        let limit = max.min(u32::MAX as usize);
        if len > limit {
            return Err(XdrError::new(
                what,
                self.buf.len(),
                XdrErrorKind::TooLong {
                    len: len as u64,
                    max: limit as u64,
                },
            ));
        }
        self.put_u32(len as u32);
        Ok(())
    }

    /// Fixed-length opaque data `opaque x[n]`; `data` must be exactly `n` bytes.
    pub fn put_fixed_opaque(
        &mut self,
        what: &'static str,
        data: &[u8],
        n: usize,
    ) -> Result<(), XdrError> {
        if data.len() != n {
            return Err(XdrError::new(
                what,
                self.buf.len(),
                XdrErrorKind::WrongFixedLength {
                    expected: n,
                    len: data.len(),
                },
            ));
        }
        self.put_padded(data);
        Ok(())
    }

    /// Variable-length opaque data `opaque x<max>`.
    pub fn put_opaque(
        &mut self,
        what: &'static str,
        data: &[u8],
        max: usize,
    ) -> Result<(), XdrError> {
        self.put_length(what, data.len(), max)?;
        self.put_padded(data);
        Ok(())
    }

    /// A `string x<max>`; NUL bytes are refused.
    pub fn put_string(&mut self, what: &'static str, s: &str, max: usize) -> Result<(), XdrError> {
        if s.contains('\0') {
            return Err(XdrError::new(
                what,
                self.buf.len(),
                XdrErrorKind::NulInString,
            ));
        }
        self.put_opaque(what, s.as_bytes(), max)
    }

    /// A variable-length array `T x<max>`.
    pub fn put_array<T: Encode>(
        &mut self,
        what: &'static str,
        items: &[T],
        max: usize,
    ) -> Result<(), XdrError> {
        self.put_length(what, items.len(), max)?;
        items.iter().try_for_each(|item| item.encode(self))
    }

    /// Optional data `T *x`.
    pub fn put_optional<T: Encode>(&mut self, item: Option<&T>) -> Result<(), XdrError> {
        self.put_bool(item.is_some());
        item.map_or(Ok(()), |item| item.encode(self))
    }
}

macro_rules! primitive {
    ($t:ty, $get:ident, $put:ident) => {
        impl Encode for $t {
            fn encode(&self, w: &mut XdrWriter) -> Result<(), XdrError> {
                w.$put(*self);
                Ok(())
            }
        }
        impl Decode for $t {
            fn decode(r: &mut XdrReader<'_>) -> Result<Self, XdrError> {
                r.$get(stringify!($t))
            }
        }
    };
}

primitive!(u32, u32, put_u32);
primitive!(i32, i32, put_i32);
primitive!(u64, u64, put_u64);
primitive!(i64, i64, put_i64);
primitive!(bool, bool, put_bool);

/// `void`: the empty argument or result (e.g. the FETCHSPEC callback, the DUMP PING call).
impl Encode for () {
    fn encode(&self, _: &mut XdrWriter) -> Result<(), XdrError> {
        Ok(())
    }
}

impl Decode for () {
    fn decode(_: &mut XdrReader<'_>) -> Result<Self, XdrError> {
        Ok(())
    }
}

/// Optional data `T *x`.
impl<T: Encode> Encode for Option<T> {
    fn encode(&self, w: &mut XdrWriter) -> Result<(), XdrError> {
        w.put_optional(self.as_ref())
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(r: &mut XdrReader<'_>) -> Result<Self, XdrError> {
        r.optional("optional")
    }
}

/// Declares a C-style enum encoded as an XDR `int`, with strict decoding (an unknown value is
/// [`XdrErrorKind::UnknownDiscriminant`]).
macro_rules! xdr_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// The wire value.
            pub const fn value(self) -> i32 {
                match self {
                    $( $name::$variant => $value, )+
                }
            }

            /// The variant of a wire value.
            pub const fn from_value(v: i32) -> Option<Self> {
                match v {
                    $( x if x == $value => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl $crate::xdr::Encode for $name {
            fn encode(&self, w: &mut $crate::xdr::XdrWriter) -> Result<(), $crate::xdr::XdrError> {
                w.put_i32(self.value());
                Ok(())
            }
        }

        impl $crate::xdr::Decode for $name {
            fn decode(r: &mut $crate::xdr::XdrReader<'_>) -> Result<Self, $crate::xdr::XdrError> {
                let at = r.position();
                let v = r.i32(stringify!($name))?;
                $name::from_value(v).ok_or_else(|| {
                    $crate::xdr::XdrError::new(
                        stringify!($name),
                        at,
                        $crate::xdr::XdrErrorKind::UnknownDiscriminant(v.into()),
                    )
                })
            }
        }
    };
}
pub(crate) use xdr_enum;

/// Declares a plain XDR struct and its [`Encode`]/[`Decode`] impls. Each field names its XDR
/// kind: `value` (a type implementing the traits), `string(MAX)`, `opaque(MAX)`, `array(MAX)`.
macro_rules! xdr_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty => $kind:ident $(($max:expr))?, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::xdr::Encode for $name {
            fn encode(&self, _w: &mut $crate::xdr::XdrWriter) -> Result<(), $crate::xdr::XdrError> {
                $( $crate::xdr::xdr_struct!(@put _w, self.$field,
                    concat!(stringify!($name), ".", stringify!($field)), $kind $(($max))?); )*
                Ok(())
            }
        }

        impl $crate::xdr::Decode for $name {
            fn decode(_r: &mut $crate::xdr::XdrReader<'_>) -> Result<Self, $crate::xdr::XdrError> {
                Ok($name {
                    $( $field: $crate::xdr::xdr_struct!(@get _r,
                        concat!(stringify!($name), ".", stringify!($field)), $kind $(($max))?), )*
                })
            }
        }
    };
    (@put $w:ident, $v:expr, $what:expr, value) => { $crate::xdr::Encode::encode(&$v, $w)? };
    (@put $w:ident, $v:expr, $what:expr, string($max:expr)) => { $w.put_string($what, &$v, $max)? };
    (@put $w:ident, $v:expr, $what:expr, opaque($max:expr)) => { $w.put_opaque($what, &$v, $max)? };
    (@put $w:ident, $v:expr, $what:expr, array($max:expr)) => { $w.put_array($what, &$v, $max)? };
    (@get $r:ident, $what:expr, value) => { $crate::xdr::Decode::decode($r)? };
    (@get $r:ident, $what:expr, string($max:expr)) => { $r.string($what, $max)? };
    (@get $r:ident, $what:expr, opaque($max:expr)) => { $r.opaque($what, $max)?.to_vec() };
    (@get $r:ident, $what:expr, array($max:expr)) => { $r.array($what, $max)? };
}
pub(crate) use xdr_struct;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian() {
        let mut w = XdrWriter::new();
        w.put_u32(0x0102_0304);
        w.put_i32(-2);
        w.put_u64(0x0102_0304_0506_0708);
        w.put_i64(-1);
        w.put_bool(true);
        assert_eq!(
            w.as_slice(),
            [
                1, 2, 3, 4, 0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1
            ]
        );
        let mut r = XdrReader::new(w.as_slice());
        assert_eq!(r.u32("a"), Ok(0x0102_0304));
        assert_eq!(r.i32("b"), Ok(-2));
        assert_eq!(r.u64("c"), Ok(0x0102_0304_0506_0708));
        assert_eq!(r.i64("d"), Ok(-1));
        assert_eq!(r.bool("e"), Ok(true));
        assert_eq!(r.finish("end"), Ok(()));
    }

    #[test]
    fn strings_and_opaques_are_padded() {
        let mut w = XdrWriter::new();
        w.put_string("s", "abcde", 16).unwrap();
        w.put_opaque("o", &[], 16).unwrap();
        w.put_fixed_opaque("f", &[9, 9], 2).unwrap();
        assert_eq!(
            w.as_slice(),
            [
                0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0, 0, 0, 0, 0, 9, 9, 0, 0
            ]
        );
        let mut r = XdrReader::new(w.as_slice());
        assert_eq!(r.string("s", 16).unwrap(), "abcde");
        assert_eq!(r.opaque("o", 16).unwrap(), b"");
        assert_eq!(r.fixed_opaque("f", 2).unwrap(), [9, 9]);
        assert!(r.finish("end").is_ok());
    }

    #[test]
    fn errors_say_what_and_where() {
        let bytes = [0, 0, 0, 1, 0, 0, 0, 9, b'x'];
        let mut r = XdrReader::new(&bytes);
        r.u32("first").unwrap();
        let err = r.opaque("Thing.data", 100).unwrap_err();
        assert_eq!(err.what, "Thing.data");
        assert_eq!(err.offset, 4);
        assert_eq!(
            err.kind,
            XdrErrorKind::Truncated {
                needed: 12,
                available: 1
            }
        );
        assert_eq!(
            err.to_string(),
            "Thing.data at byte 4: truncated: needs 12 bytes, 1 left"
        );
    }

    #[test]
    fn lengths_are_bounded_before_allocation() {
        // A length of 4 GiB - 1 on a 4-byte input: rejected by the maximum, nothing allocated.
        let bytes = [0xff, 0xff, 0xff, 0xff];
        let err = XdrReader::new(&bytes).opaque("o", 1024).unwrap_err();
        assert_eq!(
            err.kind,
            XdrErrorKind::TooLong {
                len: 0xffff_ffff,
                max: 1024
            }
        );
        // Within the maximum but beyond the input: truncated.
        let err = XdrReader::new(&bytes)
            .array::<u32>("a", usize::MAX)
            .unwrap_err();
        assert!(matches!(err.kind, XdrErrorKind::Truncated { .. }));
    }

    #[test]
    fn bad_bool_utf8_nul_and_trailing_bytes_are_errors() {
        assert_eq!(
            XdrReader::new(&[0, 0, 0, 2]).bool("b").unwrap_err().kind,
            XdrErrorKind::InvalidBool(2)
        );
        let bad_utf8 = [0, 0, 0, 1, 0xff, 0, 0, 0];
        assert_eq!(
            XdrReader::new(&bad_utf8).string("s", 8).unwrap_err().kind,
            XdrErrorKind::InvalidUtf8
        );
        let nul = [0, 0, 0, 2, b'a', 0, 0, 0];
        assert_eq!(
            XdrReader::new(&nul).string("s", 8).unwrap_err().kind,
            XdrErrorKind::NulInString
        );
        assert_eq!(
            u32::from_xdr(&[0, 0, 0, 1, 0]).unwrap_err().kind,
            XdrErrorKind::TrailingBytes(1)
        );
        assert_eq!(u32::from_xdr_prefix(&[0, 0, 0, 1, 0]), Ok(1));
    }

    #[test]
    fn encoding_enforces_the_same_limits() {
        let mut w = XdrWriter::new();
        assert!(matches!(
            w.put_string("s", "abc", 2).unwrap_err().kind,
            XdrErrorKind::TooLong { len: 3, max: 2 }
        ));
        assert_eq!(
            w.put_string("s", "a\0b", 8).unwrap_err().kind,
            XdrErrorKind::NulInString
        );
        assert!(matches!(
            w.put_fixed_opaque("f", &[1], 2).unwrap_err().kind,
            XdrErrorKind::WrongFixedLength { .. }
        ));
        assert!(w.is_empty());
    }

    #[test]
    fn arrays_and_optionals() {
        let mut w = XdrWriter::new();
        w.put_array("a", &[7u32, 8], 4).unwrap();
        w.put_optional(Some(&5u64)).unwrap();
        w.put_optional::<u64>(None).unwrap();
        let bytes = w.into_inner();
        let mut r = XdrReader::new(&bytes);
        assert_eq!(r.array::<u32>("a", 4).unwrap(), vec![7, 8]);
        assert_eq!(r.optional::<u64>("o").unwrap(), Some(5));
        assert_eq!(r.optional::<u64>("o").unwrap(), None);
        assert!(r.finish("end").is_ok());
        assert!(matches!(
            XdrReader::new(&bytes)
                .array::<u32>("a", 1)
                .unwrap_err()
                .kind,
            XdrErrorKind::TooLong { len: 2, max: 1 }
        ));
    }
}
