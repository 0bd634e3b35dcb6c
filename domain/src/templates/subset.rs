//! The part of the template language an email template may use: `{{ variable }}` with the
//! case filters, `{% if %}` / `{% elif %}` / `{% else %}` / `{% endif %}` on variables and
//! quoted words, and `{# comments #}`. No loops, no arithmetic, no filters with arguments: an
//! email is bounded by its template's size and its values, so no template (saved, or typed into
//! the live preview) can make the server build a string of gigabytes, and no `autoescape` or
//! `safe` can let a value's HTML through.

/// Filters a template may use, none taking an argument.
pub const FILTERS: [&str; 5] = ["upper", "lower", "title", "capitalize", "trim"];

/// The first construct outside the subset, as a message that names it; `None` when the whole
/// source is within it. Unclosed tags are left to the parser, which reports them with a line.
pub fn outside(source: &str) -> Option<String> {
    let mut rest = source;
    while let Some(start) = rest.find(['{']) {
        let after = &rest[start..];
        let (close, kind) = if after.starts_with("{{") {
            ("}}", Kind::Expression)
        } else if after.starts_with("{%") {
            ("%}", Kind::Statement)
        } else if after.starts_with("{#") {
            ("#}", Kind::Comment)
        } else {
            rest = &after[1..];
            continue;
        };
        let end = after[2..].find(close)?;
        let body = after[2..2 + end].trim_matches(['-', '+']).trim();
        let allowed = match kind {
            Kind::Expression => is_expression(body),
            Kind::Statement => is_statement(body),
            Kind::Comment => true,
        };
        if !allowed {
            let shown: String = after[..2 + end + 2].chars().take(60).collect();
            return Some(format!(
                "{shown} is not allowed: use {{{{ variable }}}}, a filter ({}) and \
                 {{% if %}} … {{% endif %}}.",
                FILTERS.join(", ")
            ));
        }
        rest = &after[2 + end + 2..];
    }
    None
}

enum Kind {
    Expression,
    Statement,
    Comment,
}

fn is_name(word: &str) -> bool {
    word.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `name`, or `name | filter | filter`.
fn is_expression(body: &str) -> bool {
    let mut pieces = body.split('|').map(str::trim);
    pieces.next().is_some_and(is_name) && pieces.all(|f| FILTERS.contains(&f))
}

fn is_statement(body: &str) -> bool {
    match body {
        "else" | "endif" => return true,
        _ => {}
    }
    let condition = body
        .strip_prefix("if ")
        .or_else(|| body.strip_prefix("elif "));
    condition.is_some_and(is_condition)
}

/// Names, `not`, `and`, `or`, `==`, `!=` and quoted words without quotes inside.
fn is_condition(condition: &str) -> bool {
    let mut chars = condition.trim().chars().peekable();
    let mut tokens = 0;
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '\'' {
            chars.next();
            if !chars.by_ref().any(|d| d == c) {
                return false;
            }
            tokens += 1;
        } else if c == '=' || c == '!' {
            chars.next();
            if chars.next() != Some('=') {
                return false;
            }
            tokens += 1;
        } else {
            let word: String =
                std::iter::from_fn(|| chars.next_if(|d| d.is_ascii_alphanumeric() || *d == '_'))
                    .collect();
            if word.is_empty() || !is_name(&word) {
                return false;
            }
            tokens += 1;
        }
    }
    tokens > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_variables_filters_and_conditions_pass() {
        for source in [
            "Hello {{ display_name }}, {{- username|upper -}}!",
            "{% if display_name != \"\" %}Hi {{ display_name|title }}{% else %}Hi{% endif %}",
            "{# a note #}{% if not expires_in and username == 'x' %}{% elif link %}{% endif %}",
            "A brace { alone, and }} stray closers.",
        ] {
            assert_eq!(outside(source), None, "{source}");
        }
    }

    #[test]
    fn loops_arithmetic_arguments_and_escapes_are_refused() {
        for source in [
            "{% for c in link %}x{% endfor %}",
            "{{ \"x\" * 100000000 }}",
            "{{ link|indent(1000000000000) }}",
            "{{ display_name|safe }}",
            "{% autoescape false %}{{ display_name }}{% endautoescape %}",
            "{% set x = link ~ link %}",
            "{{ link.__class__ }}",
            "{{ range(10) }}",
            "{% if 10**12 %}{% endif %}",
        ] {
            assert!(outside(source).is_some(), "{source}");
        }
    }
}
