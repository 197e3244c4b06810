//! The win shares the 2018 study published (spec §9), kept as data to set beside a run's own.

/// Where the numbers come from.
pub const SOURCE: &str = "J. D. Seo, \"Outperforming TensorFlow's Default Auto Differentiation Optimizers, with Interactive Code [Manual Back Prop with TF]\" (March 2018), as transcribed in the project's spec §9 (10 experiments per trial, 801 epochs)";

/// The study's published shares of one trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PublishedTrial {
    /// Trial number (1..4).
    pub trial: u32,
    /// The study's learning rate.
    pub learning_rate: f64,
    /// The study's hidden width.
    pub hidden: u64,
    /// Per criterion (lowest cost, highest train acc, highest test acc): (case, share in percent).
    /// Cases not listed had 0 %.
    pub shares: [&'static [(usize, u32)]; 3],
    /// A remark on the printed numbers, if any.
    pub remark: &'static str,
}

/// Spec §9, verbatim.
pub const PUBLISHED: [PublishedTrial; 4] = [
    PublishedTrial {
        trial: 1,
        learning_rate: 0.001,
        hidden: 1024,
        shares: [
            &[(5, 60), (3, 30), (0, 20), (1, 10)],
            &[(3, 40), (5, 30), (0, 20), (1, 10)],
            &[(0, 60), (16, 40)],
        ],
        remark: "the lowest-cost shares sum to 120 % as printed",
    },
    PublishedTrial {
        trial: 2,
        learning_rate: 0.0025,
        hidden: 824,
        shares: [&[(3, 60), (5, 40)], &[(3, 50), (5, 50)], &[(5, 70), (3, 20), (1, 10)]],
        remark: "",
    },
    PublishedTrial {
        trial: 3,
        learning_rate: 0.001,
        hidden: 824,
        shares: [&[(0, 90), (3, 10)], &[(0, 90), (3, 10)], &[(0, 70), (7, 10), (14, 10), (16, 10)]],
        remark: "",
    },
    PublishedTrial {
        trial: 4,
        learning_rate: 0.0025,
        hidden: 1024,
        shares: [&[(5, 60), (3, 40)], &[(5, 60), (3, 40)], &[(3, 50), (1, 30), (5, 20)]],
        remark: "",
    },
];

/// The study's published trial with this number, if any.
pub fn published(trial: u32) -> Option<&'static PublishedTrial> {
    PUBLISHED.iter().find(|p| p.trial == trial)
}

impl PublishedTrial {
    /// The published share in percent of `case` under criterion `metric_index` (0 if not listed).
    pub fn share(&self, metric_index: usize, case: usize) -> u32 {
        self.shares[metric_index].iter().find(|(c, _)| *c == case).map_or(0, |(_, s)| *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_as_printed() {
        // Every criterion sums to 100 % except trial 1's lowest cost (120 % as printed).
        for p in &PUBLISHED {
            for (m, s) in p.shares.iter().enumerate() {
                let sum: u32 = s.iter().map(|(_, v)| v).sum();
                let expected = if p.trial == 1 && m == 0 { 120 } else { 100 };
                assert_eq!(sum, expected, "trial {} criterion {m}", p.trial);
            }
        }
        assert_eq!(published(3).unwrap().share(2, 14), 10);
        assert_eq!(published(3).unwrap().share(2, 13), 0);
        assert!(published(5).is_none());
    }
}
