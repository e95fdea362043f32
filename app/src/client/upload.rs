//! Uploads from the browser: one file to `POST /api/v1/uploads` as the raw body, over
//! `XMLHttpRequest` (fetch reports no upload progress), with progress and cancel.

use switchboard::media::Attachment;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use super::http::ApiError;

thread_local! {
    /// The uploads under way, by their number: kept here, in the browser's one thread, so
    /// components only hold a number (their state also renders on the server).
    static LIVE: std::cell::RefCell<std::collections::HashMap<u64, web_sys::XmlHttpRequest>> =
        std::cell::RefCell::default();
    static NEXT: std::cell::Cell<u64> = const { std::cell::Cell::new(1) };
    /// Uploads cancelled on purpose (their end is not a failure).
    static CANCELLED: std::cell::RefCell<std::collections::HashSet<u64>> = std::cell::RefCell::default();
}

/// Aborts the upload numbered `id` (nothing if it already ended).
pub fn cancel(id: u64) {
    if let Some(xhr) = LIVE.with(|live| live.borrow_mut().remove(&id)) {
        CANCELLED.with(|c| c.borrow_mut().insert(id));
        let _ = xhr.abort();
    }
}

fn refused(status: u16, body: &str) -> ApiError {
    #[derive(serde::Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        message: String,
    }
    let message = serde_json::from_str::<Body>(body)
        .map(|b| b.error.message)
        .unwrap_or_else(|_| format!("The server answered {status}."));
    ApiError { status, message }
}

/// Starts uploading `file`: `progress` gets the share sent (0 to 1), `done` the stored upload
/// or why not (status 0 with no words when it was cancelled). Answers the upload's number, for
/// [`cancel`].
pub fn start(
    file: &web_sys::File,
    kind: Option<&str>,
    progress: impl Fn(f64) + 'static,
    done: impl FnOnce(Result<Attachment, ApiError>) + 'static,
) -> Result<u64, ApiError> {
    let failed = |_| ApiError { status: 0, message: "The upload could not start.".into() };
    let xhr = web_sys::XmlHttpRequest::new().map_err(failed)?;
    let name: String = js_sys::encode_uri_component(&file.name()).into();
    let mut url = format!("/api/v1/uploads?filename={name}");
    if let Some(kind) = kind {
        url.push_str(&format!("&kind={kind}"));
    }
    xhr.open_with_async("POST", &url, true).map_err(failed)?;
    if let Some(ws) = super::http::workspace() {
        xhr.set_request_header("X-Workspace-Id", &ws.to_string()).map_err(failed)?;
    }
    if let Ok(upload) = xhr.upload() {
        let on_progress =
            Closure::<dyn Fn(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| {
                if ev.length_computable() && ev.total() > 0.0 {
                    progress(ev.loaded() / ev.total());
                }
            });
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        on_progress.forget();
    }
    let id = NEXT.with(|next| {
        let id = next.get();
        next.set(id + 1);
        id
    });
    let done = std::rc::Rc::new(std::cell::RefCell::new(Some(done)));
    let finish = {
        let xhr = xhr.clone();
        let done = done.clone();
        Closure::<dyn Fn()>::new(move || {
            LIVE.with(|live| live.borrow_mut().remove(&id));
            let Some(done) = done.borrow_mut().take() else { return };
            let status = xhr.status().unwrap_or(0);
            let body = xhr.response_text().ok().flatten().unwrap_or_default();
            let cancelled = CANCELLED.with(|c| c.borrow_mut().remove(&id));
            let result = match status {
                0 if cancelled => Err(ApiError { status: 0, message: String::new() }),
                // The connection dropped, or the server refused the body before reading it all.
                0 => Err(ApiError {
                    status: 0,
                    message: "The upload failed: the connection dropped or the file was refused.".into(),
                }),
                // The upload answers its attachment's fields (and a few of its own, skipped).
                200..=299 => serde_json::from_str::<Attachment>(&body)
                    .map_err(|e| ApiError { status, message: format!("The answer does not read: {e}") }),
                _ => Err(refused(status, &body)),
            };
            done(result);
        })
    };
    xhr.set_onloadend(Some(finish.as_ref().unchecked_ref()));
    finish.forget();
    xhr.send_with_opt_blob(Some(file)).map_err(failed)?;
    LIVE.with(|live| live.borrow_mut().insert(id, xhr));
    Ok(id)
}
