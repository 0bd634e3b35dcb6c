use leptos::prelude::*;

use super::confirm_password::ConfirmPasswordPrompt;
use crate::error::AppError;

/// The error a form's last submission got, announced to screen readers as it appears.
#[component]
pub fn FormError(
    /// The error to show, if any.
    #[prop(into)]
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    view! {
        <div class="form-error" role="alert" aria-live="assertive">
            {move || error.get().map(|e| view! { <p>{e.to_string()}</p> })}
        </div>
        {move || (error.get() == Some(AppError::ConfirmationRequired))
            .then(|| view! { <ConfirmPasswordPrompt/> })}
    }
}

/// The error of a server action's last result, as a signal for [`FormError`].
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}

/// An error that replaced what a part of a page would have shown (a read that failed): said
/// at once to screen readers, in the server's words.
#[component]
pub fn ErrorNotice(
    /// What went wrong.
    error: AppError,
) -> impl IntoView {
    view! { <p role="alert" class="form-error">{error.to_string()}</p> }
}

/// The fallback of an `ErrorBoundary`: each error it caught, as an [`ErrorNotice`] would say it.
pub fn error_fallback(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div role="alert" class="form-error">
            {move || errors.get().into_iter().map(|(_, e)| view! { <p>{e.to_string()}</p> }).collect_view()}
        </div>
    }
}
