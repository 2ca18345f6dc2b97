//! The input of volgen: a volume as the store records it.
//!
//! This is the part of a volume record that shapes its volfiles, in GD1's terms so that a GD1
//! volume (`/var/lib/glusterd/vols/<vol>/info`) maps onto it field by field: name, id, layout
//! and counts, transport, bricks in order (the order makes the replica and disperse sets), the
//! volume's login (GD1's random `username`/`password`, which bricks demand of trusted clients)
//! and the options set on it, keyed `<group>.<option>` as `gluster volume set` takes them.
//!
//! [`Volume::validate`] is volgen's safety net, not the API's policy: it refuses only what
//! would make a broken or ambiguous volfile (a brick count that does not fill the sets, a
//! path with a blank, a duplicate client index). The REST layer checks its own rules first.

use uuid::Uuid;

use crate::Error;

/// How the bricks of a volume are combined. Bricks are grouped into consecutive sets of
/// [`VolumeType::set_size`] bricks; files are distributed over the sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VolumeType {
    /// Every brick is its own set (GD1 type 0, "Distribute").
    Distribute,
    /// Sets of `replica` full copies (GD1 type 2, "Replicate" / "Distributed-Replicate").
    Replicate {
        /// Copies per set, at least 2.
        replica: usize,
    },
    /// `replica 3 arbiter 1`: per set, two full copies and an arbiter brick that keeps
    /// metadata only; the last brick of each set is the arbiter (GD1 type 2 with
    /// `arbiter_count=1`, the only arbiter layout GlusterFS supports).
    Arbiter,
    /// Erasure-coded sets of `disperse` bricks, any `redundancy` of which may be lost
    /// (GD1 type 4, "Disperse" / "Distributed-Disperse").
    Disperse {
        /// Bricks per set (data + redundancy), at least 3.
        disperse: usize,
        /// Bricks per set that may fail, at least 1 and less than half of `disperse`.
        redundancy: usize,
    },
}

impl VolumeType {
    /// Bricks per replica or disperse set (1 for distribute).
    pub fn set_size(&self) -> usize {
        match *self {
            VolumeType::Distribute => 1,
            VolumeType::Replicate { replica } => replica,
            VolumeType::Arbiter => 3,
            VolumeType::Disperse { disperse, .. } => disperse,
        }
    }

    /// Whether the self-heal daemon has work on volumes of this type.
    pub fn heals(&self) -> bool {
        !matches!(self, VolumeType::Distribute)
    }

    /// Whether sets are AFR replica sets (replicate and arbiter).
    pub fn is_replicate(&self) -> bool {
        matches!(self, VolumeType::Replicate { .. } | VolumeType::Arbiter)
    }

    fn validate(&self) -> Result<(), Error> {
        match *self {
            VolumeType::Distribute | VolumeType::Arbiter => Ok(()),
            VolumeType::Replicate { replica } if replica >= 2 => Ok(()),
            VolumeType::Replicate { replica } => Err(Error::InvalidVolume(format!(
                "replica count {replica} is less than 2"
            ))),
            VolumeType::Disperse {
                disperse,
                redundancy,
            } if disperse >= 3 && redundancy >= 1 && 2 * redundancy < disperse => Ok(()),
            VolumeType::Disperse {
                disperse,
                redundancy,
            } => Err(Error::InvalidVolume(format!(
                "disperse {disperse} redundancy {redundancy}: need disperse >= 3 and \
                 1 <= redundancy < disperse / 2"
            ))),
        }
    }
}

/// The transport bricks and clients talk over. GlusterFS 10 as packaged by Debian has no RDMA,
/// so TCP is the only one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    /// TCP sockets (`transport-type tcp`).
    #[default]
    Tcp,
}

impl Transport {
    /// The word volfiles use for it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
        }
    }
}

/// One brick: a directory on a peer, exported by one `glusterfsd`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Brick {
    /// The peer that hosts it.
    pub peer_id: Uuid,
    /// The address clients reach the peer at (`remote-host`): an IP literal or a host name.
    pub host: String,
    /// The absolute path of the brick directory; also the brick's name in the port map.
    pub path: String,
    /// `N` of the brick's client translator `<vol>-client-N` (GD1's `brick-id`). Fixed when
    /// the brick is added and never changed: AFR records pending heals under that name.
    pub index: usize,
    /// The `f_fsid` of the brick's file system when known (GD1's `brick-fsid`). Bricks of a
    /// volume on the same peer and file system share its free space (`shared-brick-count`).
    pub fsid: Option<u64>,
}

impl Brick {
    /// The volfile id a `glusterfsd` asks for to get this brick's volfile, as GD1 names it:
    /// `<vol>.<host>.<path without its first "/", other "/" as "-">`
    /// (`rep3.127.1.1.1.data-bricks-rep3-b1`).
    pub fn volfile_id(&self, volume: &str) -> String {
        let path = self.path.strip_prefix('/').unwrap_or(&self.path);
        format!("{volume}.{}.{}", self.host, path.replace('/', "-"))
    }

    /// The name of the client translator that reaches this brick: `<vol>-client-<index>`.
    pub fn client_name(&self, volume: &str) -> String {
        format!("{volume}-client-{}", self.index)
    }
}

/// Volume options: `<group>.<option>` keys (`performance.cache-size`) to values, kept in the
/// order they were first set. Setting a key again replaces its value in place.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeOptions(Vec<(String, String)>);

impl VolumeOptions {
    /// No options.
    pub fn new() -> Self {
        VolumeOptions(Vec::new())
    }

    /// The options GD1 10.3 writes into a new volume at create time
    /// (`glusterd_enable_default_options` and `glusterd_op_create_volume`), in its order:
    /// replicate volumes (and arbiter) get `cluster.granular-entry-heal=on` first and
    /// `performance.client-io-threads=off` last; every TCP volume gets
    /// `storage.fips-mode-rchecksum=on`, `transport.address-family=inet`, `nfs.disable=on`.
    pub fn create_defaults(volume_type: &VolumeType) -> Self {
        let mut options = VolumeOptions::new();
        if volume_type.is_replicate() {
            options.set("cluster.granular-entry-heal", "on");
        }
        options.set("storage.fips-mode-rchecksum", "on");
        options.set("transport.address-family", "inet");
        options.set("nfs.disable", "on");
        if volume_type.is_replicate() {
            options.set("performance.client-io-threads", "off");
        }
        options
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key`, replacing its value where it stands or appending it.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Removes `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(at).1)
    }

    /// The options in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many options are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for VolumeOptions {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut options = VolumeOptions::new();
        for (k, v) in iter {
            options.set(k, v);
        }
        options
    }
}

/// A volume, as far as volgen needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// The volume name: letters, digits, `-` and `_`.
    pub name: String,
    /// The volume id, written into the brick root's `trusted.glusterfs.volume-id` xattr.
    pub id: Uuid,
    /// How bricks are combined.
    pub volume_type: VolumeType,
    /// The transport.
    pub transport: Transport,
    /// The bricks, in order: consecutive runs of `set_size` bricks form the sets.
    pub bricks: Vec<Brick>,
    /// The login trusted clients (servers, the self-heal daemon) present to bricks; GD1 makes
    /// it a random UUID at create.
    pub username: Uuid,
    /// The password that goes with [`Volume::username`].
    pub password: Uuid,
    /// GD1's quota xattr version (`quota-version` in `info`); 0 until quota is first enabled.
    pub quota_version: u32,
    /// The options set on the volume, including the create-time defaults.
    pub options: VolumeOptions,
    /// The sets (by their place, from 0) a remove-brick is emptying: DHT gives them no part
    /// of any directory's layout and the rebalance process moves their files away (GD1's
    /// `decommissioned-bricks`).
    pub decommissioned: Vec<usize>,
}

/// The longest volume name accepted here (a bound, not a policy; GD1 allows fewer).
pub const MAX_VOLUME_NAME: usize = 128;
/// Linux's `PATH_MAX`, which counts the terminating NUL: a brick path is shorter.
pub const MAX_BRICK_PATH: usize = 4096;
/// The longest brick host accepted here (a DNS name's limit).
pub const MAX_BRICK_HOST: usize = 255;

/// Why a brick path cannot be used; see [`check_brick_path`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrickPathError {
    /// The path does not start with `/`.
    #[error("brick path {path:?} is not absolute (it must start with '/')")]
    NotAbsolute {
        /// The refused path.
        path: String,
    },
    /// The path does not fit in `PATH_MAX`.
    #[error("brick path is {len} bytes long; the limit is {} bytes", MAX_BRICK_PATH - 1)]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The path holds a character GlusterFS cannot take in a brick path.
    #[error(
        "brick path {path:?} contains {}; a brick path cannot hold blanks, control characters, \
         '\"', '\\', '`' or '#'",
        describe_char(*character)
    )]
    Character {
        /// The refused path.
        path: String,
        /// The first refused character in it.
        character: char,
    },
}

/// Whether GlusterFS can take `c` in a brick path (see [`check_brick_path`]).
fn refused_in_brick_path(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '"' | '\\' | '`' | '#')
}

fn describe_char(c: char) -> String {
    if c.is_whitespace() && !c.is_control() {
        format!("a blank ({c:?})")
    } else if c.is_control() {
        format!("a control character ({c:?})")
    } else {
        format!("{c:?}")
    }
}

/// The rule every brick path meets: absolute, shorter than `PATH_MAX`, and without blanks,
/// control characters, `"`, `\`, `` ` `` or `#`.
///
/// The characters are refused because a brick path does not only name a directory: volgen
/// makes it a translator name (the brick's io-stats), part of option keys
/// (`auth.login.<path>.allow`) and of the volfile id, which GlusterFS reads back as bare
/// words: a blank or a quote splits them, `#` starts a comment, a backtick is run by a shell,
/// a control character breaks the line. [`Volume::validate`] refuses such a volume, so no
/// brick of it could ever get its volfile and start; glusterd2 applies this same rule when a
/// volume is created, so such a volume is never made.
pub fn check_brick_path(path: &str) -> Result<(), BrickPathError> {
    if !path.starts_with('/') {
        return Err(BrickPathError::NotAbsolute {
            path: path.to_owned(),
        });
    }
    if path.len() >= MAX_BRICK_PATH {
        return Err(BrickPathError::TooLong { len: path.len() });
    }
    match path.chars().find(|&c| refused_in_brick_path(c)) {
        Some(character) => Err(BrickPathError::Character {
            path: path.to_owned(),
            character,
        }),
        None => Ok(()),
    }
}

impl Volume {
    /// Checks that the record can be turned into volfiles (see the module documentation).
    pub fn validate(&self) -> Result<(), Error> {
        let name = &self.name;
        if name.is_empty()
            || name.len() > MAX_VOLUME_NAME
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::InvalidVolume(format!(
                "volume name {name:?}: use 1 to {MAX_VOLUME_NAME} letters, digits, '-' or '_'"
            )));
        }
        self.volume_type.validate()?;
        let set = self.volume_type.set_size();
        if self.bricks.is_empty() || !self.bricks.len().is_multiple_of(set) {
            return Err(Error::InvalidVolume(format!(
                "volume {name:?} has {} bricks, not a positive multiple of its set size {set}",
                self.bricks.len()
            )));
        }
        let mut indexes = std::collections::HashSet::new();
        let mut places = std::collections::HashSet::new();
        for brick in &self.bricks {
            let host_ok = !brick.host.is_empty()
                && brick.host.len() <= MAX_BRICK_HOST
                && brick
                    .host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:_%[]".contains(c));
            if !host_ok {
                return Err(Error::InvalidVolume(format!(
                    "brick host {:?}: not an address or host name",
                    brick.host
                )));
            }
            check_brick_path(&brick.path).map_err(|e| Error::InvalidVolume(e.to_string()))?;
            if !indexes.insert(brick.index) {
                return Err(Error::InvalidVolume(format!(
                    "two bricks of volume {name:?} have client index {}",
                    brick.index
                )));
            }
            if !places.insert((brick.host.as_str(), brick.path.as_str())) {
                return Err(Error::InvalidVolume(format!(
                    "brick {}:{} is listed twice",
                    brick.host, brick.path
                )));
            }
        }
        let sets = self.bricks.len() / set;
        if let Some(k) = self.decommissioned.iter().find(|&&k| k >= sets) {
            return Err(Error::InvalidVolume(format!(
                "volume {name:?} has {sets} sets; set {k} cannot be decommissioned"
            )));
        }
        let leaving: std::collections::HashSet<_> = self.decommissioned.iter().collect();
        if leaving.len() >= sets {
            return Err(Error::InvalidVolume(format!(
                "volume {name:?} would have no set left once its decommissioned ones leave"
            )));
        }
        Ok(())
    }

    /// The bricks of each replica or disperse set, in order.
    pub fn sets(&self) -> std::slice::Chunks<'_, Brick> {
        self.bricks.chunks(self.volume_type.set_size().max(1))
    }

    /// Whether the brick at `position` is an arbiter (the last brick of an arbiter set).
    pub fn is_arbiter(&self, position: usize) -> bool {
        self.volume_type == VolumeType::Arbiter && position % 3 == 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(volume_type: VolumeType, bricks: usize) -> Volume {
        Volume {
            name: "v".into(),
            id: Uuid::nil(),
            volume_type,
            transport: Transport::Tcp,
            bricks: (0..bricks)
                .map(|i| Brick {
                    peer_id: Uuid::nil(),
                    host: "127.0.0.2".into(),
                    path: format!("/b/{i}"),
                    index: i,
                    fsid: None,
                })
                .collect(),
            username: Uuid::nil(),
            password: Uuid::nil(),
            quota_version: 0,
            options: VolumeOptions::create_defaults(&volume_type),
            decommissioned: Vec::new(),
        }
    }

    #[test]
    fn validates_counts() {
        volume(VolumeType::Distribute, 1).validate().unwrap();
        volume(VolumeType::Replicate { replica: 3 }, 6)
            .validate()
            .unwrap();
        assert!(
            volume(VolumeType::Replicate { replica: 3 }, 4)
                .validate()
                .is_err()
        );
        assert!(
            volume(VolumeType::Replicate { replica: 1 }, 1)
                .validate()
                .is_err()
        );
        assert!(volume(VolumeType::Distribute, 0).validate().is_err());
        let d = |disperse, redundancy| VolumeType::Disperse {
            disperse,
            redundancy,
        };
        volume(d(6, 2), 12).validate().unwrap();
        assert!(volume(d(4, 2), 4).validate().is_err());
        assert!(volume(d(3, 0), 3).validate().is_err());
        assert!(volume(VolumeType::Arbiter, 5).validate().is_err());
    }

    #[test]
    fn validates_names_and_bricks() {
        let mut v = volume(VolumeType::Distribute, 2);
        v.name = "bad name".into();
        assert!(v.validate().is_err());
        let mut v = volume(VolumeType::Distribute, 2);
        v.bricks[1].path = "/a b".into();
        assert!(v.validate().is_err());
        let mut v = volume(VolumeType::Distribute, 2);
        v.bricks[1].path = "relative".into();
        assert!(v.validate().is_err());
        let mut v = volume(VolumeType::Distribute, 2);
        v.bricks[1].host = "h`x`".into();
        assert!(v.validate().is_err());
        let mut v = volume(VolumeType::Distribute, 2);
        v.bricks[1].index = 0;
        assert!(v.validate().is_err());
        let mut v = volume(VolumeType::Distribute, 2);
        v.bricks[1].path = "/b/0".into();
        assert!(v.validate().is_err());
    }

    #[test]
    fn brick_paths_follow_one_rule() {
        check_brick_path("/data/bricks/b-1_x.y@z").unwrap();
        check_brick_path(&format!("/{}", "x".repeat(MAX_BRICK_PATH - 2))).unwrap();
        assert_eq!(
            check_brick_path(&format!("/{}", "x".repeat(MAX_BRICK_PATH - 1))),
            Err(BrickPathError::TooLong {
                len: MAX_BRICK_PATH
            })
        );
        assert_eq!(
            check_brick_path("b/1").unwrap_err().to_string(),
            "brick path \"b/1\" is not absolute (it must start with '/')"
        );
        for (path, character) in [
            ("/a b", ' '),
            ("/a\tb", '\t'),
            ("/a\u{a0}b", '\u{a0}'),
            ("/a\nb", '\n'),
            ("/a#b", '#'),
            ("/a\"b", '"'),
            ("/a`b`", '`'),
            ("/a\\b", '\\'),
        ] {
            assert_eq!(
                check_brick_path(path),
                Err(BrickPathError::Character {
                    path: path.into(),
                    character
                }),
                "{path:?}"
            );
        }
        assert_eq!(
            check_brick_path("/srv/my brick").unwrap_err().to_string(),
            "brick path \"/srv/my brick\" contains a blank (' '); a brick path cannot hold \
             blanks, control characters, '\"', '\\', '`' or '#'"
        );
        assert!(
            check_brick_path("/a\u{7}")
                .unwrap_err()
                .to_string()
                .contains("a control character ('\\u{7}')")
        );
        assert!(
            check_brick_path("/a\\b")
                .unwrap_err()
                .to_string()
                .contains("contains '\\\\';")
        );
        // The volume check applies the same rule.
        let mut v = volume(VolumeType::Distribute, 2);
        v.bricks[1].path = "/a#b".into();
        assert_eq!(
            v.validate(),
            Err(Error::InvalidVolume(
                check_brick_path("/a#b").unwrap_err().to_string()
            ))
        );
    }

    #[test]
    fn names_bricks_like_gd1() {
        let b = Brick {
            peer_id: Uuid::nil(),
            host: "127.1.1.1".into(),
            path: "/data/bricks/rep3/b1".into(),
            index: 0,
            fsid: None,
        };
        assert_eq!(b.volfile_id("rep3"), "rep3.127.1.1.1.data-bricks-rep3-b1");
        assert_eq!(b.client_name("rep3"), "rep3-client-0");
    }

    #[test]
    fn create_defaults_follow_gd1() {
        let rep = VolumeOptions::create_defaults(&VolumeType::Arbiter);
        let keys: Vec<_> = rep.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "cluster.granular-entry-heal",
                "storage.fips-mode-rchecksum",
                "transport.address-family",
                "nfs.disable",
                "performance.client-io-threads"
            ]
        );
        let dist = VolumeOptions::create_defaults(&VolumeType::Distribute);
        assert_eq!(dist.len(), 3);
        assert_eq!(dist.get("performance.client-io-threads"), None);
    }

    #[test]
    fn options_keep_order_and_replace_in_place() {
        let mut o: VolumeOptions = [("a", "1"), ("b", "2")].into_iter().collect();
        o.set("a", "3");
        assert_eq!(o.iter().collect::<Vec<_>>(), [("a", "3"), ("b", "2")]);
        assert_eq!(o.remove("a").as_deref(), Some("3"));
        assert_eq!(o.get("a"), None);
        assert!(!o.is_empty());
    }
}
