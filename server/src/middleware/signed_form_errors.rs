//! A plain form post (no JavaScript) that fails comes back to its page with the error in the
//! address (`?__path=…&__err=…`), and the page shows it in its alert box. Anyone can write such
//! an address, so without a check a link to `/login?__err=…` would put an attacker's words
//! ("Your account is suspended, call …") in Latchkey's own red box on a trusted origin.
//!
//! So the server signs each error it sends back this way (`__sig`, an HMAC under the server's
//! secret key, valid for a few minutes), and a page request carrying an error without a good
//! signature is redirected to the same page without it: only errors this server produced are
//! ever shown.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use domain::Keyring;
use http::{HeaderValue, header};
use model::time::Timestamp;

const PATH: &str = "__path";
const ERR: &str = "__err";
const SIG: &str = "__sig";
const CONTEXT: &str = "form error";
/// Long enough to read the error after a slow round trip; short enough that a signed error
/// cannot be collected and mailed around as a phishing aid.
const VALID_MS: i64 = 10 * 60 * 1000;

fn signed_data(path: &str, err: &str, issued_at: i64) -> Vec<u8> {
    format!("{issued_at}\n{path}\n{err}").into_bytes()
}

fn sign(keys: &Keyring, path: &str, err: &str, now: Timestamp) -> String {
    let at = now.millis();
    format!("{at}.{}", keys.sign(CONTEXT, &signed_data(path, err, at)))
}

fn verify(keys: &Keyring, path: &str, err: &str, signature: &str, now: Timestamp) -> bool {
    let Some((at, mac)) = signature.split_once('.') else {
        return false;
    };
    let Ok(at) = at.parse::<i64>() else {
        return false;
    };
    (now.millis() - VALID_MS..=now.millis()).contains(&at)
        && keys.verify(CONTEXT, &signed_data(path, err, at), mac)
}

/// Signs the error a server function put in its redirect back to the form's page. The page's
/// address may still carry an earlier error (server functions append theirs to the `Referer`),
/// so only the newest error is kept, and signed.
fn sign_location(keys: &Keyring, location: &str, now: Timestamp) -> Option<String> {
    let (base, query) = location.split_once('?')?;
    let query = query.split('#').next().unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let last = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let err = last(ERR)?;
    let path = last(PATH).unwrap_or_default();
    let signature = sign(keys, &path, &err, now);
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            pairs
                .iter()
                .filter(|(k, _)| ![PATH, ERR, SIG].contains(&k.as_str())),
        )
        .append_pair(PATH, &path)
        .append_pair(ERR, &err)
        .append_pair(SIG, &signature)
        .finish();
    Some(format!("{base}?{query}"))
}

/// The address without the error parameters, when it carries an error this server did not
/// sign (or signed too long ago).
fn unsigned_error_stripped(
    keys: &Keyring,
    path: &str,
    query: &str,
    now: Timestamp,
) -> Option<String> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get(ERR).is_none() && get(PATH).is_none() && get(SIG).is_none() {
        return None;
    }
    if let (Some(err), Some(sig)) = (get(ERR), get(SIG))
        && verify(keys, get(PATH).unwrap_or_default(), err, sig, now)
    {
        return None;
    }
    let kept: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            pairs
                .iter()
                .filter(|(k, _)| ![PATH, ERR, SIG].contains(&k.as_str())),
        )
        .finish();
    Some(if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{kept}")
    })
}

pub async fn sign_form_errors(
    State(keys): State<Keyring>,
    request: Request,
    next: Next,
) -> Response {
    let now = Timestamp::now();
    let is_api = request.uri().path().starts_with("/api/");
    if !is_api
        && request.method() == http::Method::GET
        && let Some(query) = request.uri().query()
        && let Some(clean) = unsigned_error_stripped(&keys, request.uri().path(), query, now)
    {
        return Redirect::to(&clean).into_response();
    }
    let mut response = next.run(request).await;
    if is_api
        && let Some(location) = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|location| sign_location(&keys, location, now))
        && let Ok(value) = HeaderValue::from_str(&location)
    {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_query(err: &str) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("next", "/users")
            .append_pair(PATH, "/api/login")
            .append_pair(ERR, err)
            .finish()
    }

    #[test]
    fn a_signed_error_passes_and_a_forged_one_is_stripped() {
        let keys = Keyring::ephemeral();
        let now = Timestamp::now();
        let location = format!("http://x/login?{}", err_query("eyJ"));
        let signed = sign_location(&keys, &location, now).unwrap();
        let query = signed.split_once('?').unwrap().1;
        assert_eq!(unsigned_error_stripped(&keys, "/login", query, now), None);

        let forged = err_query("eyJDb25mbGljdCI6IkNhbGwgKzEifQ");
        assert_eq!(
            unsigned_error_stripped(&keys, "/login", &forged, now).as_deref(),
            Some("/login?next=%2Fusers")
        );
        // A real signature moved onto another error does not carry over.
        let sig = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == SIG)
            .unwrap()
            .1
            .into_owned();
        let moved = format!("{forged}&{SIG}={sig}");
        assert!(unsigned_error_stripped(&keys, "/login", &moved, now).is_some());
        // Another server's key, or an old signature, is no signature.
        assert!(unsigned_error_stripped(&Keyring::ephemeral(), "/login", query, now).is_some());
        let later = Timestamp(now.millis() + VALID_MS + 1);
        assert!(unsigned_error_stripped(&keys, "/login", query, later).is_some());
    }

    #[test]
    fn only_the_newest_error_is_kept_and_signed() {
        let keys = Keyring::ephemeral();
        let now = Timestamp::now();
        let earlier = sign_location(&keys, &format!("http://x/login?{}", err_query("old")), now);
        let again = format!("{}&{PATH}=%2Fapi%2Flogin&{ERR}=new", earlier.unwrap());
        let signed = sign_location(&keys, &again, now).unwrap();
        let query = signed.split_once('?').unwrap().1;
        let errors: Vec<_> = form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k == ERR || k == SIG)
            .collect();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].1, "new");
        assert_eq!(unsigned_error_stripped(&keys, "/login", query, now), None);
    }

    #[test]
    fn addresses_without_errors_are_left_alone() {
        let keys = Keyring::ephemeral();
        let now = Timestamp::now();
        assert_eq!(unsigned_error_stripped(&keys, "/users", "q=ada", now), None);
        assert_eq!(sign_location(&keys, "http://x/users?q=ada", now), None);
        assert_eq!(
            unsigned_error_stripped(&keys, "/login", "__path=%2Fapi%2Flogin", now).as_deref(),
            Some("/login")
        );
    }
}
