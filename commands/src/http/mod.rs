//! The REST API: Mainflux 0.12's users and things contract on one axum router, with its
//! OpenAPI document generated from the same handler annotations that route requests, so the
//! two cannot drift.

mod bootstrap;
mod certs;
mod channels;
mod client_ip;
mod config_list;
mod configs;
mod connections;
mod docs;
mod error;
mod events;
mod extract;
mod health;
mod history;
mod json_body;
mod mapping;
mod paging;
mod password_reset;
mod search;
mod things;
mod users;

use std::sync::Arc;

use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use client_ip::TrustedProxies;
pub use error::{ApiError, ErrorBody};
pub use extract::bearer;
pub use password_reset::origin;

use crate::service::Service;
use docs::SecuritySchemes;

pub type AppState = Arc<Service>;

#[derive(OpenApi)]
#[openapi(
    info(title = "Ferroflux", description = "Users, things, channels and connections (Mainflux 0.12 compatible)"),
    tags((name = "users"), (name = "things"), (name = "channels"), (name = "connections"), (name = "operations"), (name = "bootstrap"), (name = "provision"), (name = "certs"), (name = "history")),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            users::register,
            users::own_user,
            users::update_user
        ))
        .routes(routes!(users::profile))
        .routes(routes!(users::user_by_id))
        .routes(routes!(users::login))
        .routes(routes!(users::change_password))
        .routes(routes!(password_reset::request_reset))
        .routes(routes!(password_reset::reset))
        .routes(routes!(things::create_thing, things::list_things))
        .routes(routes!(things::create_things))
        .routes(routes!(
            things::get_thing,
            things::update_thing,
            things::remove_thing
        ))
        .routes(routes!(things::update_key))
        .routes(routes!(search::search_things))
        .routes(routes!(things::things_of_channel))
        .routes(routes!(channels::create_channel, channels::list_channels))
        .routes(routes!(channels::create_channels))
        .routes(routes!(
            channels::get_channel,
            channels::update_channel,
            channels::remove_channel
        ))
        .routes(routes!(channels::channels_of_thing))
        .routes(routes!(search::search_channels))
        .routes(routes!(connections::connect_many))
        .routes(routes!(connections::connect_one, connections::disconnect))
        .routes(routes!(configs::create_config, config_list::list_configs))
        .routes(routes!(config_list::list_unknown))
        .routes(routes!(
            configs::get_config,
            configs::update_config,
            configs::remove_config
        ))
        .routes(routes!(configs::update_certs))
        .routes(routes!(configs::update_connections))
        .routes(routes!(configs::change_state))
        .routes(routes!(bootstrap::bootstrap))
        .routes(routes!(bootstrap::bootstrap_secure))
        .routes(routes!(mapping::create_mapping, mapping::get_mapping))
        .routes(routes!(certs::issue_cert))
        .routes(routes!(certs::crl))
        .routes(routes!(certs::list_certs, certs::revoke_cert))
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(health::version))
        .routes(routes!(events::events))
        .routes(routes!(history::thing_events))
        .routes(routes!(history::channel_events))
}

/// The OpenAPI document of every route `router` serves.
pub fn openapi() -> OpenApiDoc {
    api().into_openapi()
}

/// Every REST route. The binary serves `openapi()`, merged with the data plane's, at
/// `GET /openapi.json`.
pub fn router(service: AppState) -> Router {
    Router::from(api()).with_state(service)
}
