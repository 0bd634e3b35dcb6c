//! The fields each server function accepts, read from its own argument struct, so a request
//! with a field the function does not know (a typo, a probe, a client out of date) is refused
//! with a specific error instead of being silently ignored. The server's `strict_fields`
//! middleware applies it; a test checks that every registered server function is listed.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use server_fn::ServerFn;
use std::collections::HashMap;
use std::fmt;

use crate::api::{auth, bulk, email, passwords, people, resets, settings, setup, users};

/// Captures the field names serde asks for, then stops.
struct FieldNames(&'static [&'static str]);

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("introspection")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

struct Introspect<'a>(&'a mut FieldNames);

impl<'de> Deserializer<'de> for Introspect<'_> {
    type Error = Stop;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        self.0.0 = fields;
        Err(Stop)
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut names = FieldNames(&[]);
    let _ = T::deserialize(Introspect(&mut names));
    names.0
}

fn entry<T>() -> (&'static str, &'static [&'static str])
where
    T: ServerFn + for<'de> Deserialize<'de>,
{
    (T::PATH, fields_of::<T>())
}

/// Path of each server function → the fields it accepts.
pub fn request_fields() -> HashMap<&'static str, &'static [&'static str]> {
    HashMap::from([
        entry::<auth::Login>(),
        entry::<auth::Logout>(),
        entry::<auth::GetSession>(),
        entry::<auth::ConfirmPassword>(),
        entry::<people::AddUser>(),
        entry::<people::EditUser>(),
        entry::<people::DeleteUser>(),
        entry::<people::SetUserRole>(),
        entry::<people::ImportSummary>(),
        entry::<people::StartImport>(),
        entry::<settings::CurrentPasswordPolicy>(),
        entry::<settings::PasswordListed>(),
        entry::<settings::GetSecuritySettings>(),
        entry::<settings::SaveSecuritySettings>(),
        entry::<email::GetEmailSettings>(),
        entry::<email::SaveEmailSettings>(),
        entry::<email::SendTestEmail>(),
        entry::<email::ListTemplates>(),
        entry::<email::PreviewTemplate>(),
        entry::<email::SaveTemplate>(),
        entry::<email::RestoreTemplate>(),
        entry::<setup::SetupLinkValid>(),
        entry::<setup::CreateFirstAdmin>(),
        entry::<users::ListUsers>(),
        entry::<users::GetUserDetails>(),
        entry::<users::UserActivity>(),
        entry::<users::ListAuditEvents>(),
        entry::<passwords::ForcePasswordReset>(),
        entry::<passwords::SetUserPassword>(),
        entry::<passwords::ChangeMyPassword>(),
        entry::<passwords::UnlockAccount>(),
        entry::<resets::SendPasswordChangeLink>(),
        entry::<resets::GenerateTemporaryPassword>(),
        entry::<resets::GenerateNewPassword>(),
        entry::<resets::RevokeReset>(),
        entry::<resets::ResendResetEmail>(),
        entry::<resets::ResetLinkInfo>(),
        entry::<resets::CompletePasswordReset>(),
        entry::<resets::RequestPasswordReset>(),
        entry::<bulk::PreviewBulkChange>(),
        entry::<bulk::StartBulkChange>(),
        entry::<bulk::GetBulkJob>(),
        entry::<bulk::BulkJobItems>(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_from_the_argument_structs() {
        let fields = request_fields();
        assert_eq!(fields[auth::Login::PATH], ["username", "password"]);
        assert_eq!(
            fields[passwords::SetUserPassword::PATH],
            ["id", "password", "confirm", "must_reset", "email_user"]
        );
        assert!(fields[auth::Logout::PATH].is_empty());
    }
}
