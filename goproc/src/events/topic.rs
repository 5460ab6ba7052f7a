//! Topics and patterns (docs/WIRE.md, "Events"): what is valid, and which
//! topics a pattern matches (MQTT 3.1.1).

use std::fmt;

/// The longest topic or pattern, in bytes.
pub(crate) const MAX_LEN: usize = 65_535;

/// Checks a topic an event is published on: 1 to 65,535 bytes of
/// `/`-separated levels (empty levels allowed), without `+`, `#` or NUL.
pub(crate) fn check_topic(topic: &str) -> Result<(), String> {
    check_length("topic", topic)?;
    for (index, level) in topic.split('/').enumerate() {
        for (c, what) in [('+', "`+`"), ('#', "`#`"), ('\0', "a NUL character")] {
            if level.contains(c) {
                return Err(format!(
                    "topic {}: level {} contains {what}; a topic names one place, only a \
                     subscription's pattern has wildcards",
                    Shown(topic),
                    index + 1
                ));
            }
        }
    }
    Ok(())
}

/// Checks a pattern a subscription matches topics with: a topic's rules,
/// except that `+` and `#` may each fill a whole level, `#` only the last.
#[cfg(test)]
pub(crate) fn check_pattern(pattern: &str) -> Result<(), String> {
    Pattern::parse(pattern).map(|_| ())
}

/// Whether `topic` is matched by `pattern`; both must be valid.
#[cfg(test)]
pub(crate) fn matches(pattern: &str, topic: &str) -> bool {
    Pattern::parse(pattern).is_ok_and(|p| p.matches(topic))
}

fn check_length(what: &str, text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!(
            "a {what} cannot be empty; it has at least one level"
        ));
    }
    if text.len() > MAX_LEN {
        return Err(format!(
            "{what} {} is {} bytes long; the limit is {MAX_LEN}",
            Shown(text),
            text.len()
        ));
    }
    Ok(())
}

/// One level of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Level {
    /// This exact text.
    Exact(Box<str>),
    /// `+`: any one level.
    One,
    /// `#`: this level and everything under it, or nothing (the parent).
    Rest,
}

/// A valid pattern, split into levels once so that matching a topic is a
/// walk over its levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    levels: Box<[Level]>,
}

impl Pattern {
    /// Parses and checks a pattern.
    pub(crate) fn parse(pattern: &str) -> Result<Pattern, String> {
        check_length("pattern", pattern)?;
        let count = pattern.split('/').count();
        let mut levels = Vec::with_capacity(count);
        for (index, level) in pattern.split('/').enumerate() {
            let at = index + 1;
            let parsed = match level {
                "+" => Level::One,
                "#" if at == count => Level::Rest,
                "#" => {
                    return Err(format!(
                        "pattern {}: `#` must be the last level (it is level {at} of {count})",
                        Shown(pattern)
                    ))
                }
                _ if level.contains('+') || level.contains('#') => {
                    return Err(format!(
                        "pattern {}: level {at} is `{level}`; `+` and `#` must fill a whole \
                         level (write `.../+/...` or `.../#`)",
                        Shown(pattern)
                    ))
                }
                _ if level.contains('\0') => {
                    return Err(format!(
                        "pattern {}: level {at} contains a NUL character",
                        Shown(pattern)
                    ))
                }
                _ => Level::Exact(level.into()),
            };
            levels.push(parsed);
        }
        Ok(Pattern {
            levels: levels.into(),
        })
    }

    /// Whether this pattern matches `topic` (a valid topic).
    pub(crate) fn matches(&self, topic: &str) -> bool {
        // A topic whose first level starts with `$` is only matched by a
        // pattern whose first level names it.
        if topic.starts_with('$') && !matches!(self.levels.first(), Some(Level::Exact(_))) {
            return false;
        }
        let mut topic_levels = topic.split('/');
        for level in self.levels.iter() {
            let next = topic_levels.next();
            match (level, next) {
                (Level::Rest, _) => return true,
                (_, None) => return false,
                (Level::One, Some(_)) => {}
                (Level::Exact(text), Some(t)) => {
                    if **text != *t {
                        return false;
                    }
                }
            }
        }
        topic_levels.next().is_none()
    }
}

/// A topic or pattern in a message: quoted, and cut short when long.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 60;
        if self.0.len() <= SHOWN {
            return write!(f, "`{}`", self.0.escape_debug());
        }
        let mut end = SHOWN;
        while !self.0.is_char_boundary(end) {
            end -= 1;
        }
        write!(f, "`{}...`", self.0[..end].escape_debug())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_topics_as_mqtt_says() {
        let cases: &[(&str, &str, bool)] = &[
            // `#` alone matches every topic that does not start with `$`.
            ("#", "a", true),
            ("#", "a/b/c", true),
            ("#", "/", true),
            ("#", "/a", true),
            // `+` fills exactly one level.
            ("+", "a", true),
            ("+", "a/b", false),
            ("+/+", "a/b", true),
            ("+/+", "a", false),
            ("+/+", "a/b/c", false),
            ("+/+", "/", true),
            ("+/+", "/a", true),
            // `a/#` matches its parent level too.
            ("a/#", "a", true),
            ("a/#", "a/b", true),
            ("a/#", "a/b/c", true),
            ("a/#", "a/", true),
            ("a/#", "ab", false),
            ("a/#", "b/a", false),
            ("a/+/#", "a", false),
            ("a/+/#", "a/b", true),
            // `$` topics are not matched by leading wildcards.
            ("#", "$SYS/uptime", false),
            ("+/uptime", "$SYS/uptime", false),
            ("+", "$SYS", false),
            ("$SYS/#", "$SYS/uptime", true),
            ("$SYS/#", "$SYS", true),
            ("$SYS/+", "$SYS/uptime", true),
            ("a/#", "a/$b", true),
            ("a/+", "a/$b", true),
            // Empty levels are levels.
            ("a//b", "a//b", true),
            ("a/+/b", "a//b", true),
            ("a/b", "a//b", false),
            ("/a", "/a", true),
            ("+/a", "/a", true),
            ("a", "/a", false),
            ("a/", "a/", true),
            ("a/+", "a/", true),
            ("a/+", "a", false),
            ("a", "a/", false),
            // Exact matches, and longer or shorter topics.
            ("sensors/kitchen/temp", "sensors/kitchen/temp", true),
            ("sensors/kitchen/temp", "sensors/kitchen/Temp", false),
            ("sensors/kitchen", "sensors/kitchen/temp", false),
            ("sensors/kitchen/temp/x", "sensors/kitchen/temp", false),
            ("sensors/+/temp", "sensors/kitchen/temp", true),
            ("sensors/+/temp", "sensors/kitchen/humidity", false),
            ("sensors/+/temp", "sensors/kitchen/temp/x", false),
            ("home/kitchen/#", "home/kitchen/temperature", true),
            ("home/kitchen/#", "home/hall/temperature", false),
            ("+/+/+", "a/b/c", true),
            ("über/+", "über/ß", true),
        ];
        let mut wrong = Vec::new();
        for &(pattern, topic, expected) in cases {
            check_pattern(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            check_topic(topic).unwrap_or_else(|e| panic!("{topic}: {e}"));
            if matches(pattern, topic) != expected {
                wrong.push(format!("`{pattern}` on `{topic}`: expected {expected}"));
            }
        }
        assert!(cases.len() >= 35);
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn invalid_patterns_say_what_is_wrong_and_where() {
        let cases: &[(&str, &str)] = &[
            (
                "a/#/b",
                "pattern `a/#/b`: `#` must be the last level (it is level 2 of 3)",
            ),
            (
                "#/a",
                "pattern `#/a`: `#` must be the last level (it is level 1 of 2)",
            ),
            (
                "a/b+",
                "pattern `a/b+`: level 2 is `b+`; `+` and `#` must fill a whole level",
            ),
            ("a/#b", "pattern `a/#b`: level 2 is `#b`"),
            ("a+/b", "level 1 is `a+`"),
            ("++", "level 1 is `++`"),
            ("a/##", "level 2 is `##`"),
            ("", "a pattern cannot be empty"),
            ("a/\0", "pattern `a/\\0`: level 2 contains a NUL character"),
        ];
        for &(pattern, expected) in cases {
            let err = check_pattern(pattern).expect_err(pattern);
            assert!(err.contains(expected), "{pattern}: {err}");
        }
        let long = "x".repeat(MAX_LEN + 1);
        let err = check_pattern(&long).unwrap_err();
        assert!(
            err.contains("65536 bytes long; the limit is 65535"),
            "{err}"
        );
        assert!(err.len() < 200, "a long pattern is cut short: {err}");
        check_pattern(&"x".repeat(MAX_LEN)).unwrap();
    }

    #[test]
    fn invalid_topics_say_what_is_wrong_and_where() {
        let cases: &[(&str, &str)] = &[
            ("a/+", "topic `a/+`: level 2 contains `+`"),
            ("a/#", "topic `a/#`: level 2 contains `#`"),
            ("#", "topic `#`: level 1 contains `#`"),
            ("a/b+c/d", "level 2 contains `+`"),
            ("a\0", "topic `a\\0`: level 1 contains a NUL character"),
            ("", "a topic cannot be empty"),
        ];
        for &(topic, expected) in cases {
            let err = check_topic(topic).expect_err(topic);
            assert!(err.contains(expected), "{topic}: {err}");
        }
        let long = "é".repeat(MAX_LEN / 2 + 1);
        let err = check_topic(&long).unwrap_err();
        assert!(err.contains("65536 bytes long"), "{err}");
        for ok in ["/", "a//b", "/a", "a/", "$SYS/x", "a b/c"] {
            check_topic(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }
}
