//! A tiny deterministic generator (xorshift64*) so that randomized tests
//! are reproducible without extra dependencies.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A value in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// Between 0 and `max - 1` random bytes.
    pub fn bytes_below(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max);
        self.bytes(n)
    }

    /// A short string, sometimes empty, sometimes with multi-byte UTF-8.
    pub fn string(&mut self) -> String {
        const PARTS: [&str; 6] = ["a", "lvp-test", "", "é", "qemu:///system", "0"];
        (0..self.below(4))
            .map(|_| PARTS[self.below(PARTS.len())])
            .collect()
    }

    pub fn uuid(&mut self) -> [u8; 16] {
        let mut u = [0u8; 16];
        u.copy_from_slice(&self.bytes(16));
        u
    }
}
