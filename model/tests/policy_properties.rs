//! Properties of the password rule that the browser and the server both run: whatever is typed
//! (any Unicode, any length, any settings in bounds), the checklist a person sees agrees with
//! the server's verdict, lengths are counted as hashed, and the account's own names are refused.

use model::policy::{MAX_LENGTH_CEILING, MAX_LENGTH_FLOOR, MIN_LENGTH_FLOOR, NoList, normalize};
use model::settings::SecuritySettings;
use model::{PasswordPolicy, PolicyContext, PolicyViolation};
use proptest::prelude::*;

/// A policy an administrator could save: every bound of Management > Password Policy.
fn policy() -> impl Strategy<Value = PasswordPolicy> {
    (MAX_LENGTH_FLOOR..=MAX_LENGTH_CEILING, 0usize..=4).prop_flat_map(|(max, classes)| {
        (MIN_LENGTH_FLOOR..=max.min(64)).prop_map(move |min| PasswordPolicy {
            min_length: min,
            max_length: max,
            min_classes: classes,
        })
    })
}

fn context() -> impl Strategy<Value = PolicyContext> {
    (
        "[a-z][a-z0-9._-]{2,15}",
        "[A-Z][a-z]{3,10} [A-Z][a-z]{3,10}",
    )
        .prop_map(|(username, name)| PolicyContext {
            email: Some(format!("{username}@example.com")),
            username,
            display_name: name,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The live checklist is all ticked exactly when the server accepts: the browser never
    /// shows a green list for a password the server refuses, nor the other way round.
    #[test]
    fn the_checklist_agrees_with_the_verdict(
        policy in policy(),
        ctx in context(),
        password in "\\PC{0,80}",
    ) {
        let accepted = policy.check(&password, &ctx, &NoList).is_ok();
        let all_met = policy
            .requirements(&password, &ctx, &NoList)
            .iter()
            .all(|r| r.met);
        prop_assert_eq!(accepted, all_met);
    }

    /// Length is counted in characters of the normal form that is hashed, so a password typed
    /// composed or decomposed gets the same verdict.
    #[test]
    fn length_is_counted_as_hashed(policy in policy(), password in "\\PC{0,80}") {
        let ctx = PolicyContext::default();
        let length = normalize(&password).chars().count();
        let too_short = policy
            .violations(&password, &ctx, &NoList)
            .iter()
            .any(|v| matches!(v, PolicyViolation::TooShort { .. }));
        prop_assert_eq!(too_short, length < policy.min_length);
        prop_assert_eq!(
            policy.violations(&password, &ctx, &NoList),
            policy.violations(&normalize(&password), &ctx, &NoList)
        );
    }

    /// However long and odd the input, the rule answers (it never panics), and a password
    /// containing the username in any case is refused.
    #[test]
    fn the_username_is_refused_in_any_case(
        policy in policy(),
        ctx in context(),
        before in "\\PC{0,20}",
        // Not starting with a combining mark, which would join the name's last letter (NFKC
        // makes "e" and U+0301 one "é", and the name is then truly not in the password).
        after in "([^\\p{M}\\p{C}]\\PC{0,19})?",
    ) {
        let password = format!("{before}{}{after}", ctx.username.to_uppercase());
        let found = policy.violations(&password, &ctx, &NoList);
        prop_assert!(found.contains(&PolicyViolation::ContainsUsername), "{:?}", found);
    }

    /// A password longer than the maximum is refused, with no work spent on it when it is far
    /// over (the byte bound comes first).
    #[test]
    fn too_long_is_refused(policy in policy(), extra in 1usize..2000) {
        let password = "x".repeat(policy.max_length + extra);
        let found = policy.violations(&password, &PolicyContext::default(), &NoList);
        let too_long = found.iter().any(|v| matches!(v, PolicyViolation::TooLong { .. }));
        prop_assert!(too_long, "{:?}", found);
    }

    /// Settings parsed from any form are either refused with a field named, or within bounds:
    /// nothing out of bounds is ever accepted.
    #[test]
    fn settings_in_bounds_or_refused(min in "[0-9]{1,5}", max in "[0-9]{1,5}", classes in "[0-9]") {
        let parsed = SecuritySettings::default().with_form([
            ("min_length", min.as_str()),
            ("max_length", max.as_str()),
            ("min_classes", classes.as_str()),
        ]);
        if let Ok(settings) = parsed
            && settings.problems().is_empty()
        {
            prop_assert!(settings.min_length >= MIN_LENGTH_FLOOR);
            prop_assert!(settings.min_length <= settings.max_length);
            prop_assert!(settings.max_length >= MAX_LENGTH_FLOOR);
            prop_assert!(settings.max_length <= MAX_LENGTH_CEILING);
            prop_assert!(settings.min_classes <= 4);
        }
    }
}
