//! Uploads from the browser: one file to `POST /api/v1/uploads` as the raw body, over
//! `XMLHttpRequest` (fetch reports no upload progress), with progress and cancel.

use switchboard::media::Upload;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use super::http::ApiError;

/// An upload under way; [`cancel`](Self::cancel) aborts it.
#[derive(Clone)]
pub struct Uploading {
    xhr: web_sys::XmlHttpRequest,
}

impl Uploading {
    pub fn cancel(&self) {
        let _ = self.xhr.abort();
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
/// or why not (status 0 with no words when it was cancelled).
pub fn start(
    file: &web_sys::File,
    kind: Option<&str>,
    progress: impl Fn(f64) + 'static,
    done: impl FnOnce(Result<Upload, ApiError>) + 'static,
) -> Result<Uploading, ApiError> {
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
        let on_progress = Closure::<dyn Fn(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| {
            if ev.length_computable() && ev.total() > 0.0 {
                progress(ev.loaded() / ev.total());
            }
        });
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        on_progress.forget();
    }
    let done = std::rc::Rc::new(std::cell::RefCell::new(Some(done)));
    let finish = {
        let xhr = xhr.clone();
        let done = done.clone();
        Closure::<dyn Fn()>::new(move || {
            let Some(done) = done.borrow_mut().take() else { return };
            let status = xhr.status().unwrap_or(0);
            let body = xhr.response_text().ok().flatten().unwrap_or_default();
            let result = match status {
                0 => Err(ApiError { status: 0, message: String::new() }),
                200..=299 => serde_json::from_str::<Upload>(&body)
                    .map_err(|e| ApiError { status, message: format!("The answer does not read: {e}") }),
                _ => Err(refused(status, &body)),
            };
            done(result);
        })
    };
    xhr.set_onloadend(Some(finish.as_ref().unchecked_ref()));
    finish.forget();
    xhr.send_with_opt_blob(Some(file)).map_err(failed)?;
    Ok(Uploading { xhr })
}
