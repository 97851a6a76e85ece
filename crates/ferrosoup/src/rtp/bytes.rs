//! Bounds-checked big-endian readers and writers shared by the RTP/RTCP code.
//!
//! Every accessor goes through `slice::get`, so a short buffer yields `None`
//! (or `false` for writers) instead of a panic. After the one-time length
//! validation done by the parsers these checks are trivially predictable and
//! cost next to nothing.

#[inline]
pub(crate) fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

#[inline]
pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    match b.get(off..off.checked_add(2)?) {
        Some(&[x0, x1]) => Some(u16::from_be_bytes([x0, x1])),
        _ => None,
    }
}

#[inline]
pub(crate) fn u24_at(b: &[u8], off: usize) -> Option<u32> {
    match b.get(off..off.checked_add(3)?) {
        Some(&[x0, x1, x2]) => Some(u32::from_be_bytes([0, x0, x1, x2])),
        _ => None,
    }
}

#[inline]
pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    match b.get(off..off.checked_add(4)?) {
        Some(&[x0, x1, x2, x3]) => Some(u32::from_be_bytes([x0, x1, x2, x3])),
        _ => None,
    }
}

#[inline]
pub(crate) fn put_u8(b: &mut [u8], off: usize, v: u8) -> bool {
    match b.get_mut(off) {
        Some(x) => {
            *x = v;
            true
        }
        None => false,
    }
}

#[inline]
pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) -> bool {
    put_slice(b, off, &v.to_be_bytes())
}

#[inline]
pub(crate) fn put_u24(b: &mut [u8], off: usize, v: u32) -> bool {
    let [_, x0, x1, x2] = v.to_be_bytes();
    put_slice(b, off, &[x0, x1, x2])
}

#[inline]
pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) -> bool {
    put_slice(b, off, &v.to_be_bytes())
}

#[inline]
pub(crate) fn put_slice(b: &mut [u8], off: usize, v: &[u8]) -> bool {
    let Some(end) = off.checked_add(v.len()) else {
        return false;
    };
    match b.get_mut(off..end) {
        Some(dst) => {
            dst.copy_from_slice(v);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_bounds_checked() {
        let b = [1u8, 2, 3, 4, 5];
        assert_eq!(u8_at(&b, 4), Some(5));
        assert_eq!(u8_at(&b, 5), None);
        assert_eq!(u16_at(&b, 3), Some(0x0405));
        assert_eq!(u16_at(&b, 4), None);
        assert_eq!(u16_at(&b, usize::MAX), None);
        assert_eq!(u24_at(&b, 2), Some(0x030405));
        assert_eq!(u24_at(&b, 3), None);
        assert_eq!(u32_at(&b, 1), Some(0x02030405));
        assert_eq!(u32_at(&b, 2), None);
    }

    #[test]
    fn writers_are_bounds_checked() {
        let mut b = [0u8; 4];
        assert!(put_u32(&mut b, 0, 0xdeadbeef));
        assert_eq!(b, [0xde, 0xad, 0xbe, 0xef]);
        assert!(!put_u32(&mut b, 1, 1));
        assert!(put_u24(&mut b, 1, 0x00abcdef));
        assert_eq!(b, [0xde, 0xab, 0xcd, 0xef]);
        assert!(put_u16(&mut b, 2, 0x0102));
        assert!(!put_u16(&mut b, 3, 0x0102));
        assert!(put_u8(&mut b, 3, 9));
        assert!(!put_u8(&mut b, 4, 9));
        assert!(!put_slice(&mut b, usize::MAX, &[1]));
        assert_eq!(b, [0xde, 0xab, 0x01, 0x09]);
    }
}
