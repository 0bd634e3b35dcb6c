//! The session cookie: HttpOnly so scripts cannot read it, SameSite=Strict so other sites
//! cannot ride it, and `Secure` with the `__Host-` prefix when served over https.
//!
//! The reset cookie carries a password change link's token from `/reset/<token>` to the clean
//! `/reset` page, so the token leaves the address bar, history and any referrer at once. It is
//! `SameSite=Lax`: the link is opened from a mail app, a cross-site navigation through a
//! redirect, after which a Strict cookie would not be sent.
//!
//! The typed name cookie keeps what was typed in "Username or email" across a sign-in that
//! failed, for `/login` without scripts: the form's post comes back as a new page, which would
//! otherwise make the person type it again. Not a secret, but HttpOnly and short-lived all the
//! same, and never the password.

use cookie::time::Duration;
use cookie::{Cookie, SameSite};
use domain::tokens::SecretToken;
use http::HeaderValue;
use http::header::{COOKIE, SET_COOKIE};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use super::WebConfig;

pub fn cookie_name(web: &WebConfig) -> &'static str {
    if web.is_https() {
        "__Host-latchkey_session"
    } else {
        "latchkey_session"
    }
}

pub fn reset_cookie_name(web: &WebConfig) -> &'static str {
    if web.is_https() {
        "__Host-latchkey_reset"
    } else {
        "latchkey_reset"
    }
}

pub fn typed_name_cookie_name(web: &WebConfig) -> &'static str {
    if web.is_https() {
        "__Host-latchkey_typed_name"
    } else {
        "latchkey_typed_name"
    }
}

/// How long a failed sign-in's typed name is kept for the next `/login`.
const TYPED_NAME_SECS: u64 = 300;

/// The session token the browser sent, if any.
pub fn read_session(headers: &http::HeaderMap, web: &WebConfig) -> Option<SecretToken> {
    read(headers, cookie_name(web))
}

/// The reset link token the browser sent, if any.
pub fn read_reset(headers: &http::HeaderMap, web: &WebConfig) -> Option<SecretToken> {
    read(headers, reset_cookie_name(web))
}

/// What a failed sign-in from this browser had typed as its username or email, if recent.
pub fn read_typed_name(headers: &http::HeaderMap, web: &WebConfig) -> Option<String> {
    let sent = sent(headers, typed_name_cookie_name(web))?;
    let decoded = Cookie::parse_encoded(sent.to_string()).ok()?;
    // A value planted by hand is shown only if it could have been typed.
    model::fields::login_name("username", decoded.value()).ok()
}

/// Whether the browser sent a typed name cookie at all, whatever it holds.
pub fn holds_typed_name(headers: &http::HeaderMap, web: &WebConfig) -> bool {
    sent(headers, typed_name_cookie_name(web)).is_some()
}

fn read(headers: &http::HeaderMap, name: &str) -> Option<SecretToken> {
    sent(headers, name)
        .filter(|c| !c.value().is_empty())
        .map(|c| SecretToken::from_client(c.value()))
}

fn sent<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<Cookie<'h>> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
}

fn cookie(
    name: &'static str,
    same_site: SameSite,
    web: &WebConfig,
    value: &str,
    max_age_secs: u64,
) -> String {
    built(name, same_site, web, value, max_age_secs).to_string()
}

fn built(
    name: &'static str,
    same_site: SameSite,
    web: &WebConfig,
    value: &str,
    max_age_secs: u64,
) -> Cookie<'static> {
    Cookie::build((name, value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(same_site)
        .max_age(Duration::seconds(
            i64::try_from(max_age_secs).unwrap_or(i64::MAX),
        ))
        .secure(web.is_https())
        .build()
}

/// Keeps `name`, as typed in a sign-in that failed, for the next `/login` (percent-encoded: an
/// email address may hold characters a cookie may not).
pub fn remember_typed_name(web: &WebConfig, name: &str) {
    append(typed_name_cookie(web, name));
}

fn typed_name_cookie(web: &WebConfig, name: &str) -> String {
    let name_cookie = typed_name_cookie_name(web);
    built(name_cookie, SameSite::Strict, web, name, TYPED_NAME_SECS)
        .encoded()
        .to_string()
}

pub fn forget_typed_name(web: &WebConfig) {
    append(cookie(
        typed_name_cookie_name(web),
        SameSite::Strict,
        web,
        "",
        0,
    ));
}

/// The `Set-Cookie` value that hands a reset token to the `/reset` page.
pub fn reset_cookie(web: &WebConfig, token: &SecretToken, max_age_secs: u64) -> String {
    cookie(
        reset_cookie_name(web),
        SameSite::Lax,
        web,
        token.expose(),
        max_age_secs,
    )
}

pub fn clear_reset(web: &WebConfig) {
    append(cookie(reset_cookie_name(web), SameSite::Lax, web, "", 0));
}

fn set(web: &WebConfig, value: &str, max_age_secs: u64) {
    append(cookie(
        cookie_name(web),
        SameSite::Strict,
        web,
        value,
        max_age_secs,
    ));
}

fn append(cookie: String) {
    if let (Some(response), Ok(header)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(&cookie),
    ) {
        response.append_header(SET_COOKIE, header);
    }
}

pub fn set_session(web: &WebConfig, token: &SecretToken, max_age_secs: u64) {
    set(web, token.expose(), max_age_secs);
}

pub fn clear_session(web: &WebConfig) {
    set(web, "", 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_among_other_cookies() {
        let web = WebConfig::new("http://127.0.0.1:3000");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("theme=dark; latchkey_session=abc; other=1"),
        );
        assert_eq!(read_session(&headers, &web).unwrap().expose(), "abc");
        let https = WebConfig::new("https://id.example.com");
        assert!(read_session(&headers, &https).is_none());
    }

    #[test]
    fn cookies_carry_every_protection() {
        let https = WebConfig::new("https://id.example.com");
        let text = cookie(cookie_name(&https), SameSite::Strict, &https, "abc", 60);
        for part in [
            "__Host-latchkey_session=abc",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        let http = WebConfig::new("http://127.0.0.1:3000");
        assert!(!cookie(cookie_name(&http), SameSite::Lax, &http, "", 0).contains("Secure"));
    }

    /// The name and value a browser sends back of a `Set-Cookie` line.
    fn sent_back(set_cookie: &str) -> http::HeaderMap {
        let pair = set_cookie.split(';').next().unwrap().to_owned();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("a=1; {pair}")).unwrap(),
        );
        headers
    }

    #[test]
    fn a_typed_name_comes_back_as_typed() {
        let web = WebConfig::new("https://id.example.com");
        for typed in ["ada.lovelace", "zoë \"o'hara\"; x=1@例え.jp", "a,b=c%20d"] {
            let set = typed_name_cookie(&web, typed);
            assert!(set.starts_with("__Host-latchkey_typed_name="), "{set}");
            assert!(
                set.contains("HttpOnly") && set.contains("Max-Age=300"),
                "{set}"
            );
            assert_eq!(
                read_typed_name(&sent_back(&set), &web).as_deref(),
                Some(typed)
            );
        }
    }

    #[test]
    fn a_planted_name_that_could_not_be_typed_is_not_shown() {
        let web = WebConfig::new("http://127.0.0.1:3000");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("latchkey_typed_name=a%0Db; latchkey_session=abc"),
        );
        assert_eq!(read_typed_name(&headers, &web), None);
        headers.insert(COOKIE, HeaderValue::from_static("latchkey_typed_name="));
        assert_eq!(read_typed_name(&headers, &web), None);
    }
}
