//! Which server node each client of a step connects to (`--target A,B,C`): client `i` goes to
//! node `i mod N`, round robin, where `i` counts over the whole step, so that several load
//! processes (`--part K/N`) together spread their clients over every node as one would.

/// The spread of one load process's clients of one step over the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    /// Nodes to spread over (at least one).
    pub nodes: usize,
    /// The index over all parts of this process's client 0 ([`crate::part::Part::first`]).
    pub first: usize,
}

impl Spread {
    /// Every client on one node.
    pub const ONE: Spread = Spread { nodes: 1, first: 0 };

    /// The node of this process's client `client`.
    pub fn node(&self, client: usize) -> usize {
        (self.first + client) % self.nodes.max(1)
    }

    /// How many of `clients` clients go to each node.
    pub fn counts(&self, clients: usize) -> Vec<u32> {
        let mut out = vec![0; self.nodes.max(1)];
        for i in 0..clients {
            out[self.node(i)] += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::part::Part;

    #[test]
    fn two_parts_spread_like_one_process() {
        let whole = Spread { nodes: 3, first: 0 }.counts(10);
        assert_eq!(whole, vec![4, 3, 3]);
        let mut sum = vec![0; 3];
        for k in 1..=2 {
            let part = Part { k, n: 2 };
            let spread = Spread { nodes: 3, first: part.first(10) as usize };
            for (s, c) in sum.iter_mut().zip(spread.counts(part.share(10) as usize)) {
                *s += c;
            }
        }
        assert_eq!(sum, whole, "the parts' clients land where one process's would");
        assert_eq!(Spread { nodes: 2, first: 5 }.node(0), 1);
        assert_eq!(Spread::ONE.counts(4), vec![4]);
    }
}
