use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use model::templates::{TemplateKind, TemplateView};

use crate::api::email::{RestoreTemplate, SaveTemplate, list_templates, preview_template};
use crate::components::form_error::{ErrorNotice, FormError, action_error};
use crate::components::successes::successes;

/// Management > Templates: the four emails people act on, each with a subject, a plain-text
/// body and an HTML body, a live preview with sample data, and Restore default.
#[component]
pub fn TemplatesPage() -> impl IntoView {
    let save = ServerAction::<SaveTemplate>::new();
    let restore = ServerAction::<RestoreTemplate>::new();
    let (saved, restored) = (successes(save), successes(restore));
    let templates = Resource::new(move || (saved.get(), restored.get()), |_| list_templates());
    let query = use_query_map();
    let chosen = Memo::new(move |_| {
        query
            .read()
            .get("kind")
            .and_then(|k| TemplateKind::parse(&k))
            .unwrap_or(TemplateKind::PasswordChangeLink)
    });
    view! {
        <section class="settings templates" aria-labelledby="templates-heading">
            <div class="page-head">
                <h1 id="templates-heading">"Templates"</h1>
            </div>
            <nav class="template-tabs" aria-label="Templates">
                <ul>
                    {TemplateKind::ALL
                        .into_iter()
                        .map(|kind| view! {
                            <li>
                                <a
                                    href=format!("/management/templates?kind={}", kind.as_str())
                                    aria-current=move || (chosen.get() == kind).then_some("page")
                                >
                                    {kind.label()}
                                </a>
                            </li>
                        })
                        .collect_view()}
                </ul>
            </nav>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let kind = chosen.get();
                    match templates.await {
                        Ok(all) => match all.into_iter().find(|t| t.kind == kind) {
                            Some(current) => view! {
                                <TemplateEditor current=current save=save restore=restore/>
                            }
                            .into_any(),
                            None => ().into_any(),
                        },
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn TemplateEditor(
    current: TemplateView,
    save: ServerAction<SaveTemplate>,
    restore: ServerAction<RestoreTemplate>,
) -> impl IntoView {
    let kind = current.kind;
    let subject = RwSignal::new(current.template.subject.clone());
    let text = RwSignal::new(current.template.text.clone());
    let html = RwSignal::new(current.template.html.clone());
    let (save_error, restore_error) = (action_error(save), action_error(restore));
    let error = Signal::derive(move || save_error.get().or_else(|| restore_error.get()));
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    let restored = move || restore.value().get().is_some_and(|r| r.is_ok());
    let invalid = move |field: &'static str| {
        move || {
            error
                .get()
                .is_some_and(|e| e.field() == Some(field))
                .to_string()
        }
    };
    let heading = format!("{} email", kind.label());
    view! {
        <div class="template-editor">
            <ActionForm action=save attr:class="settings-form template-form">
                <h2>{heading}</h2>
                <p class="template-state">
                    {if current.customised { "Your organisation's text." } else { "The shipped text." }}
                </p>
                <input type="hidden" name="kind" value=kind.as_str()/>
                <div class="field">
                    <label for="template-subject">"Subject"</label>
                    <input
                        id="template-subject"
                        name="subject"
                        type="text"
                        required
                        value=current.template.subject.clone()
                        aria-invalid=invalid("subject")
                        on:input:target=move |ev| subject.set(ev.target().value())
                    />
                </div>
                <div class="field">
                    <label for="template-text">"Plain-text body"</label>
                    <textarea
                        id="template-text"
                        name="text"
                        rows="12"
                        spellcheck="true"
                        aria-invalid=invalid("text")
                        on:input:target=move |ev| text.set(ev.target().value())
                    >
                        {current.template.text.clone()}
                    </textarea>
                </div>
                <div class="field">
                    <label for="template-html">"HTML body"</label>
                    <textarea
                        id="template-html"
                        name="html"
                        rows="12"
                        spellcheck="false"
                        class="code"
                        aria-invalid=invalid("html")
                        on:input:target=move |ev| html.set(ev.target().value())
                    >
                        {current.template.html.clone()}
                    </textarea>
                </div>
                <Variables kind=kind/>
                <FormError error=error/>
                <div class="form-actions">
                    <button type="submit" class="button primary">"Save template"</button>
                    <Show when=saved>
                        <p role="status" class="notice">"Saved. Emails queued from now on use it."</p>
                    </Show>
                    <Show when=restored>
                        <p role="status" class="notice">"The shipped text is back."</p>
                    </Show>
                </div>
            </ActionForm>
            <ActionForm action=restore attr:class="restore-form">
                <input type="hidden" name="kind" value=kind.as_str()/>
                <button type="submit" class="button" disabled=!current.customised>
                    "Restore default"
                </button>
            </ActionForm>
            <LivePreview kind=kind subject=subject text=text html=html/>
        </div>
    }
}

/// The variables this template may use, with what each holds.
#[component]
fn Variables(kind: TemplateKind) -> impl IntoView {
    view! {
        <details class="template-variables" open>
            <summary>"Variables"</summary>
            <dl>
                {kind
                    .variables()
                    .iter()
                    .map(|v| view! {
                        <dt><code>{format!("{{{{ {} }}}}", v.name)}</code></dt>
                        <dd>{v.meaning}</dd>
                    })
                    .collect_view()}
            </dl>
            <p class="field-hint">
                "Write a variable as {{ display_name }}, with a filter if you like ({{ \
                 display_name|upper }}: upper, lower, title, capitalize, trim), and choose text \
                 with {% if username %} … {% else %} … {% endif %}. Values are escaped in the \
                 HTML body. The link and the password may not go in the subject."
            </p>
        </details>
    }
}

const PREVIEW_AFTER: std::time::Duration = std::time::Duration::from_millis(300);

/// The template as typed, rendered by the server with sample data, a moment after typing stops.
#[component]
fn LivePreview(
    kind: TemplateKind,
    subject: RwSignal<String>,
    text: RwSignal<String>,
    html: RwSignal<String>,
) -> impl IntoView {
    let settled = RwSignal::new((
        subject.get_untracked(),
        text.get_untracked(),
        html.get_untracked(),
    ));
    // Debounced: the preview follows the typing, not every keystroke.
    let pending = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |_| {
        let typed = (subject.get(), text.get(), html.get());
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        if settled.read_untracked().eq(&typed) {
            return;
        }
        let settle = move || settled.set(typed);
        pending.set_value(set_timeout_with_handle(settle, PREVIEW_AFTER).ok());
    });
    let preview = Resource::new(
        move || settled.get(),
        move |(subject, text, html)| {
            preview_template(kind.as_str().to_owned(), subject, text, html)
        },
    );
    view! {
        <section class="template-preview" aria-labelledby="preview-heading">
            <h2 id="preview-heading">"Preview"</h2>
            <p class="field-hint">"With sample data, as Joan Torvalds would receive it."</p>
            <Transition fallback=|| view! { <p class="loading">"Rendering…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Ok(p) => view! {
                            <dl class="preview-subject">
                                <dt>"Subject"</dt>
                                <dd data-testid="preview-subject">{p.subject}</dd>
                            </dl>
                            <iframe
                                class="preview-html"
                                title="HTML preview"
                                sandbox=""
                                srcdoc=p.html
                            ></iframe>
                            <details>
                                <summary>"Plain-text version"</summary>
                                <pre class="preview-text">{p.text}</pre>
                            </details>
                        }
                        .into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
