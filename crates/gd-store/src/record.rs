//! The versioned envelope of every stored record.
//!
//! A later release may change a record's shape; it then bumps [`Record::VERSION`] and keeps
//! a migration from the old shape. A value written by a *newer* release than this one is
//! refused with a clear error rather than misread (DESIGN §4).
//!
//! On the wire a record is JSON: `{"version": N, "kind": "<kind>", "data": {...}}`.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::StoreError;

/// A type stored in the cluster store.
pub trait Record: Serialize + DeserializeOwned {
    /// A short stable name of the record type ("peer", "volume"...).
    const KIND: &'static str;
    /// The schema version this build writes and reads.
    const VERSION: u32;
}

#[derive(Serialize)]
struct EnvelopeOut<'a, T> {
    version: u32,
    kind: &'a str,
    data: &'a T,
}

/// Read with its data left raw, then the data parsed once as its type (not through a
/// `serde_json::Value`, which took as long again: a metrics scrape decodes thousands).
#[derive(Deserialize)]
struct EnvelopeIn<'a> {
    version: u32,
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    data: &'a serde_json::value::RawValue,
}

/// Serialises `record` in its envelope.
pub fn encode<T: Record>(record: &T) -> Vec<u8> {
    serde_json::to_vec(&EnvelopeOut {
        version: T::VERSION,
        kind: T::KIND,
        data: record,
    })
    .expect("records serialise to JSON")
}

/// Reads a record of type `T` stored under `key`, refusing other kinds and newer versions.
pub fn decode<T: Record>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: key.to_owned(),
        reason,
    };
    let env: EnvelopeIn = serde_json::from_slice(bytes)
        .map_err(|e| corrupt(format!("not a record envelope: {e}")))?;
    if env.kind != T::KIND {
        return Err(corrupt(format!(
            "holds a {:?} record, expected {:?}",
            env.kind,
            T::KIND
        )));
    }
    if env.version > T::VERSION {
        return Err(corrupt(format!(
            "{} record version {} was written by a newer glusterd2 (this one reads up to {})",
            T::KIND,
            env.version,
            T::VERSION
        )));
    }
    serde_json::from_str(env.data.get())
        .map_err(|e| corrupt(format!("{} record version {}: {e}", T::KIND, env.version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Thing {
        name: String,
    }
    impl Record for Thing {
        const KIND: &'static str = "thing";
        const VERSION: u32 = 2;
    }

    #[test]
    fn round_trip() {
        let t = Thing { name: "a".into() };
        let bytes = encode(&t);
        assert_eq!(decode::<Thing>("k", &bytes).unwrap(), t);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["version"], 2);
        assert_eq!(v["kind"], "thing");
    }

    #[test]
    fn refuses_newer_version_and_other_kind() {
        let newer = br#"{"version":3,"kind":"thing","data":{"name":"a"}}"#;
        let err = decode::<Thing>("k", newer).unwrap_err().to_string();
        assert!(err.contains("newer glusterd2"), "{err}");
        let other = br#"{"version":1,"kind":"volume","data":{"name":"a"}}"#;
        let err = decode::<Thing>("k", other).unwrap_err().to_string();
        assert!(err.contains("expected \"thing\""), "{err}");
        let junk = b"\xff\x00";
        assert!(decode::<Thing>("k", junk).is_err());
    }
}
