//! A command's steps: numbered in order and named as serde names them, which is how the
//! Lease, the report, the progress lines and the fault points spell them.

use serde::Serialize;

/// The steps of one command (an enum), in order.
pub trait RunStep: Copy + Ord + Serialize + 'static {
    /// Every step, in order: `[n/total]` counts them.
    const ALL: &'static [Self];

    /// What the step's line says while it runs.
    fn doing(self) -> &'static str;

    /// Its place in [`Self::ALL`], from 1.
    fn number(self) -> u8 {
        Self::ALL.iter().position(|s| *s == self).and_then(|i| u8::try_from(i + 1).ok()).unwrap_or(0)
    }

    /// `rbac+lock`, `backup`, ...: serde's name.
    fn name(self) -> &'static str {
        crate::output::serde_name(&self)
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.name() == text)
    }
}

/// `impl Display` for a [`RunStep`]: its name.
macro_rules! display_by_name {
    ($step:ty) => {
        impl std::fmt::Display for $step {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::steps::RunStep::name(*self))
            }
        }
    };
}
pub(crate) use display_by_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
    #[serde(rename_all = "kebab-case")]
    enum Demo {
        #[serde(rename = "rbac+lock")]
        Lock,
        LiveCheck,
    }

    impl RunStep for Demo {
        const ALL: &'static [Demo] = &[Demo::Lock, Demo::LiveCheck];
        fn doing(self) -> &'static str {
            "demo"
        }
    }
    display_by_name!(Demo);

    #[test]
    fn steps_number_from_one_and_read_back_by_their_serde_names() {
        assert_eq!((Demo::Lock.number(), Demo::LiveCheck.number()), (1, 2));
        assert_eq!((Demo::Lock.name(), Demo::LiveCheck.to_string().as_str()), ("rbac+lock", "live-check"));
        assert_eq!(Demo::parse("live-check"), Some(Demo::LiveCheck));
        assert_eq!(Demo::parse("live_check"), None);
    }
}
