//! A fixed-size set of piece numbers with the wire protocol's bit order
//! (piece `i` = byte `i / 8`, mask `0x80 >> (i % 8)`), the payload of
//! [`Message::Bitfield`](super::Message::Bitfield).
//!
//! Invariant: bits at positions `>= len` are always zero; every accessor
//! checks its position against `len`, so no position (however untrusted)
//! can index out of bounds.

/// Fixed-length bit set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitfield {
    bytes: Vec<u8>,
    len: u32,
}

impl Bitfield {
    pub fn new(len: u32) -> Self {
        Self {
            bytes: vec![0; len.div_ceil(8) as usize],
            len,
        }
    }

    /// Parses a received bitfield; `None` when its length is wrong or a spare bit is set.
    pub fn from_wire(bytes: &[u8], len: u32) -> Option<Self> {
        if bytes.len() != len.div_ceil(8) as usize {
            return None;
        }
        let spare = (bytes.len() as u64 * 8 - u64::from(len)) as u32;
        if spare > 0 {
            // bytes is non-empty here because spare > 0 implies len % 8 != 0.
            let last = bytes[bytes.len() - 1];
            if last & ((1u8 << spare) - 1) != 0 {
                return None;
            }
        }
        Some(Self {
            bytes: bytes.to_vec(),
            len,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn get(&self, i: u32) -> bool {
        i < self.len && self.bytes[(i / 8) as usize] & (0x80 >> (i % 8)) != 0
    }

    /// Sets bit `i` (ignored when out of range); true when it was not set before.
    pub fn set(&mut self, i: u32) -> bool {
        if i >= self.len || self.get(i) {
            return false;
        }
        self.bytes[(i / 8) as usize] |= 0x80 >> (i % 8);
        true
    }

    /// A bitfield of `len` positions, all set.
    pub fn full(len: u32) -> Self {
        let mut b = Self::new(len);
        for i in 0..len {
            b.set(i);
        }
        b
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Set positions, ascending.
    pub fn ones(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len).filter(|&i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_round_trip_and_spare_bits() {
        let mut b = Bitfield::new(10);
        assert!(b.set(0));
        assert!(b.set(9));
        assert!(!b.set(9));
        assert!(!b.set(10));
        assert_eq!(b.as_bytes(), &[0x80, 0x40]);
        assert_eq!(Bitfield::from_wire(b.as_bytes(), 10), Some(b.clone()));
        assert_eq!(Bitfield::from_wire(&[0x80, 0x60], 10), None);
        assert_eq!(Bitfield::from_wire(&[0x80], 10), None);
        assert_eq!(b.ones().collect::<Vec<_>>(), vec![0, 9]);
    }
}
