//! RFC 5531 §11 record marking: how RPC messages are delimited on a TCP stream.
//!
//! Each record is a sequence of fragments; each fragment starts with a 4-byte big-endian word
//! whose top bit marks the last fragment and whose other 31 bits are the fragment's length.
//! GlusterFS always sends one fragment per message, and so do we ([`encode_record`]); but a
//! receiver must reassemble several, so [`RecordDecoder`] does.
//!
//! The decoder is the first thing a peer's bytes meet, so it is where memory is bounded: a
//! record larger than the configured maximum is refused as soon as a fragment header announces
//! it, before any of it is buffered, and the decoder never reserves memory for bytes that have
//! not arrived. It does no I/O: feed it whatever the socket returned, get whole records back.

use crate::xdr::{XdrError, XdrErrorKind, XdrWriter};

/// Top bit of a fragment header: this fragment ends the record.
pub const LAST_FRAGMENT: u32 = 0x8000_0000;

/// The largest fragment length a header can express (31 bits).
pub const MAX_FRAGMENT_LEN: usize = 0x7fff_ffff;

/// Default maximum size of a reassembled record: 4 MiB, far above any management message
/// (volfiles are kilobytes) and small enough that a hostile peer cannot exhaust memory.
pub const DEFAULT_MAX_RECORD_LEN: usize = 4 * 1024 * 1024;

/// A record-marking failure. After a decoding error the stream cannot be resynchronised:
/// close the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The record would exceed the maximum size.
    #[error("record of at least {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The record's size so far, including the fragment just announced.
        len: u64,
        /// The maximum.
        max: usize,
    },
    /// A payload too large for one fragment was given to the encoder.
    #[error("payload of {len} bytes does not fit in one fragment (max {MAX_FRAGMENT_LEN})")]
    PayloadTooLarge {
        /// The payload's length.
        len: usize,
    },
    /// The stream ended inside a record.
    #[error("stream ended inside a record ({pending} bytes pending)")]
    Truncated {
        /// Bytes of the unfinished record received so far (its payload, or a partial header).
        pending: usize,
    },
}

/// The fragment header of a last fragment of `len` bytes.
pub fn last_fragment_header(len: usize) -> Result<[u8; 4], RecordError> {
    if len > MAX_FRAGMENT_LEN {
        return Err(RecordError::PayloadTooLarge { len });
    }
    Ok((LAST_FRAGMENT | len as u32).to_be_bytes())
}

/// `payload` as one record of one (last) fragment, the way GlusterFS senders frame messages.
pub fn encode_record(payload: &[u8]) -> Result<Vec<u8>, RecordError> {
    let header = last_fragment_header(payload.len())?;
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
    Ok(out)
}

/// Encodes one message straight into a one-fragment record: `build` writes the payload after a
/// reserved header word, which is then filled in. Saves a copy of the payload.
pub fn encode_record_with(
    build: impl FnOnce(&mut XdrWriter) -> Result<(), XdrError>,
) -> Result<Vec<u8>, XdrError> {
    let mut w = XdrWriter::from_vec(vec![0; 4]);
    build(&mut w)?;
    let mut out = w.into_inner();
    let len = out.len() - 4;
    let header = last_fragment_header(len).map_err(|_| {
        XdrError::new(
            "record",
            0,
            XdrErrorKind::TooLong {
                len: len as u64,
                max: MAX_FRAGMENT_LEN as u64,
            },
        )
    })?;
    out[..4].copy_from_slice(&header);
    Ok(out)
}

/// Incremental decoder of a record-marked byte stream.
///
/// ```
/// use gd_sunrpc::record::{encode_record, RecordDecoder};
/// let wire = [encode_record(b"abcd").unwrap(), encode_record(b"ef").unwrap()].concat();
/// let mut dec = RecordDecoder::default();
/// assert_eq!(dec.push(&wire[..5]).unwrap(), Vec::<Vec<u8>>::new());
/// assert_eq!(dec.push(&wire[5..]).unwrap(), vec![b"abcd".to_vec(), b"ef".to_vec()]);
/// assert!(dec.finish().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct RecordDecoder {
    max_record_len: usize,
    /// Bytes of the next fragment header received so far.
    header: [u8; 4],
    header_len: usize,
    /// Bytes still expected for the current fragment's body (0: a header comes next).
    fragment_left: usize,
    /// Whether the current fragment is the record's last.
    last: bool,
    /// Whether a fragment header of the current record has been read.
    started: bool,
    /// The record being reassembled.
    record: Vec<u8>,
    /// Set once an error has occurred; every later push returns it.
    failed: Option<RecordError>,
}

impl Default for RecordDecoder {
    fn default() -> Self {
        RecordDecoder::new(DEFAULT_MAX_RECORD_LEN)
    }
}

impl RecordDecoder {
    /// A decoder that refuses records larger than `max_record_len` bytes (headers excluded).
    pub fn new(max_record_len: usize) -> Self {
        RecordDecoder {
            max_record_len,
            header: [0; 4],
            header_len: 0,
            fragment_left: 0,
            last: false,
            started: false,
            record: Vec::new(),
            failed: None,
        }
    }

    /// The maximum record size.
    pub fn max_record_len(&self) -> usize {
        self.max_record_len
    }

    /// Whether the decoder sits between records (nothing of a next record received yet).
    pub fn is_idle(&self) -> bool {
        self.header_len == 0 && !self.started
    }

    /// Feeds the next bytes of the stream; returns the records they complete, in order.
    ///
    /// On error the decoder is poisoned (every later call returns the same error) and the
    /// records completed earlier in the same call are discarded with the connection.
    pub fn push(&mut self, mut data: &[u8]) -> Result<Vec<Vec<u8>>, RecordError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let mut records = Vec::new();
        while !data.is_empty() {
            if self.fragment_left == 0 && !self.last {
                // Reading a fragment header.
                let n = (4 - self.header_len).min(data.len());
                self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
                self.header_len += n;
                data = &data[n..];
                if self.header_len < 4 {
                    break;
                }
                self.header_len = 0;
                let word = u32::from_be_bytes(self.header);
                let len = (word & !LAST_FRAGMENT) as usize;
                let total = self.record.len() as u64 + len as u64;
                if total > self.max_record_len as u64 {
                    let err = RecordError::TooLarge {
                        len: total,
                        max: self.max_record_len,
                    };
                    self.failed = Some(err.clone());
                    return Err(err);
                }
                self.fragment_left = len;
                self.last = word & LAST_FRAGMENT != 0;
                self.started = true;
            } else {
                // Reading a fragment body; memory grows only with bytes actually received.
                let n = self.fragment_left.min(data.len());
                self.record.extend_from_slice(&data[..n]);
                self.fragment_left -= n;
                data = &data[n..];
            }
            if self.fragment_left == 0 && self.last {
                self.last = false;
                self.started = false;
                records.push(std::mem::take(&mut self.record));
            }
        }
        Ok(records)
    }

    /// Call at end of stream: an error if the stream stopped inside a record.
    pub fn finish(&self) -> Result<(), RecordError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if self.is_idle() {
            Ok(())
        } else {
            Err(RecordError::Truncated {
                pending: self.header_len + self.record.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(last: bool, body: &[u8]) -> Vec<u8> {
        let word = body.len() as u32 | if last { LAST_FRAGMENT } else { 0 };
        [&word.to_be_bytes()[..], body].concat()
    }

    #[test]
    fn one_fragment_record() {
        assert_eq!(
            encode_record(b"xyz").unwrap(),
            [0x80, 0, 0, 3, b'x', b'y', b'z']
        );
        let mut dec = RecordDecoder::default();
        assert_eq!(
            dec.push(&encode_record(b"xyz").unwrap()).unwrap(),
            vec![b"xyz".to_vec()]
        );
        assert!(dec.is_idle());
    }

    #[test]
    fn multi_fragment_records_are_reassembled_byte_by_byte() {
        let wire = [
            fragment(false, b"he"),
            fragment(false, b""),
            fragment(true, b"llo"),
            fragment(true, b""),
            fragment(true, b"!"),
        ]
        .concat();
        let mut dec = RecordDecoder::default();
        let mut out = Vec::new();
        for b in &wire {
            out.extend(dec.push(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(out, vec![b"hello".to_vec(), Vec::new(), b"!".to_vec()]);
        assert!(dec.finish().is_ok());
    }

    #[test]
    fn oversized_records_are_refused_at_the_header() {
        let mut dec = RecordDecoder::new(8);
        // 5 + 4 > 8: refused when the second header arrives, before its body.
        assert_eq!(
            dec.push(&fragment(false, b"12345")).unwrap(),
            Vec::<Vec<u8>>::new()
        );
        let err = dec.push(&[0x80, 0, 0, 4]).unwrap_err();
        assert_eq!(err, RecordError::TooLarge { len: 9, max: 8 });
        // Poisoned.
        assert_eq!(dec.push(b"").unwrap_err(), err);
        assert_eq!(dec.finish().unwrap_err(), err);
        // A 2 GiB announcement on an empty decoder allocates nothing.
        let mut dec = RecordDecoder::default();
        assert!(matches!(
            dec.push(&[0xff, 0xff, 0xff, 0xff]),
            Err(RecordError::TooLarge { .. })
        ));
    }

    #[test]
    fn end_of_stream_inside_a_record() {
        let mut dec = RecordDecoder::default();
        dec.push(&fragment(false, b"")).unwrap();
        assert_eq!(dec.finish(), Err(RecordError::Truncated { pending: 0 }));
        let mut dec = RecordDecoder::default();
        dec.push(&[0x80, 0, 0]).unwrap();
        assert_eq!(dec.finish(), Err(RecordError::Truncated { pending: 3 }));
        let mut dec = RecordDecoder::default();
        dec.push(&[0x80, 0, 0, 2, b'a']).unwrap();
        assert_eq!(dec.finish(), Err(RecordError::Truncated { pending: 1 }));
    }

    #[test]
    fn encode_with_fills_in_the_header() {
        let rec = encode_record_with(|w| {
            w.put_u32(7);
            w.put_string("s", "ab", 8)
        })
        .unwrap();
        assert_eq!(
            rec,
            [0x80, 0, 0, 12, 0, 0, 0, 7, 0, 0, 0, 2, b'a', b'b', 0, 0]
        );
    }

    #[test]
    fn payload_too_large_for_one_fragment() {
        assert_eq!(
            last_fragment_header(MAX_FRAGMENT_LEN + 1),
            Err(RecordError::PayloadTooLarge {
                len: MAX_FRAGMENT_LEN + 1
            })
        );
        assert_eq!(
            last_fragment_header(MAX_FRAGMENT_LEN).unwrap(),
            [0xff, 0xff, 0xff, 0xff]
        );
    }
}
