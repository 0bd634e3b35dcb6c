use leptos::prelude::*;

use crate::error::AppError;

/// How many times `action` has succeeded, for a resource to re-read on.
///
/// A refused save changed nothing on the server, so re-reading then only rebuilds the form
/// under the person's hands: with erased view types a rebuilt element gets every attribute
/// again, and a re-added `selected` puts a `<select>` back to the stored choice while the
/// error asks them to fix something else. (The action's own `version` counts refusals too.)
pub fn successes<I, O>(action: ServerAction<I>) -> Signal<usize>
where
    I: server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    let count = RwSignal::new(0);
    Effect::new(move |_| {
        if action.value().with(|result| matches!(result, Some(Ok(_)))) {
            count.update(|n| *n += 1);
        }
    });
    count.into()
}
