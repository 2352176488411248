//! `GET /things/configs`: the caller's bootstrap configs with Mainflux 0.12's filters
//! (`state`, `external_id`, `mainflux_id`, `mainflux_key` exact, `name` partial), paged
//! like every other list: a bad value is a 400, not a silent default.

use std::collections::HashSet;

use axum::Json;
use axum::extract::{RawQuery, State};
use domain::ids::ThingId;
use domain::values::MAX_NAME_CHARS;
use projections::views::ConfigQuery;
use serde::Serialize;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::configs::ConfigResponse;
use super::docs::query;
use super::error::{ApiError, ErrorBody};
use super::extract::Caller;
use super::paging::{self, DEFAULT_LIMIT, Window};
use crate::service::activation;

#[derive(Serialize, ToSchema)]
pub struct ConfigsPage {
    total: u64,
    offset: u64,
    limit: u64,
    configs: Vec<ConfigResponse>,
}

/// The caller's configs in thing-id order, with their keys (as `GET /things/configs/{id}`).
#[utoipa::path(get, path = "/things/configs", tag = "bootstrap", security(("user_token" = [])),
    params(ConfigFilters),
    responses((status = 200, body = ConfigsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_configs(
    State(service): State<AppState>,
    Caller(me): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<ConfigsPage>, ApiError> {
    let (query, thing_key) = config_query(raw.as_deref())?;
    let page = service.configs(me, query, thing_key.as_deref()).await?;
    Ok(Json(ConfigsPage {
        total: page.total,
        offset: page.offset,
        limit: page.limit,
        configs: page.items.into_iter().map(ConfigResponse::from).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct UnknownDevice {
    external_id: String,
    /// Failed fetches with this id since it was first seen.
    attempts: u64,
    /// Unix seconds of the latest one.
    last_attempt: i64,
}

#[derive(Serialize, ToSchema)]
pub struct UnknownPage {
    total: u64,
    offset: u64,
    limit: u64,
    configs: Vec<UnknownDevice>,
}

/// External ids devices tried to bootstrap with while no config had them, newest first
/// (Mainflux 0.11). Only the id: a key shown to every user would let anyone claim another's
/// device, and whoever provisions it knows its key.
#[utoipa::path(get, path = "/things/unknown/configs", tag = "bootstrap", security(("user_token" = [])),
    params(Window),
    responses((status = 200, body = UnknownPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_unknown(
    State(service): State<AppState>,
    Caller(_caller): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<UnknownPage>, ApiError> {
    let window = paging::page_query(raw.as_deref())?;
    let page = service
        .views()
        .unknown_devices(window.offset, window.limit)
        .await
        .map_err(crate::service::ServiceError::from)?;
    Ok(Json(UnknownPage {
        total: page.total,
        offset: page.offset,
        limit: page.limit,
        configs: page
            .items
            .into_iter()
            .map(|d| UnknownDevice {
                external_id: d.external_id,
                attempts: d.attempts,
                last_attempt: d.last_attempt,
            })
            .collect(),
    }))
}

/// The filters, and the `mainflux_key` to resolve (a key is looked up, not stored).
fn config_query(raw: Option<&str>) -> Result<(ConfigQuery, Option<String>), ApiError> {
    let mut query = ConfigQuery {
        limit: DEFAULT_LIMIT,
        ..ConfigQuery::default()
    };
    let mut thing_key = None;
    let mut seen = HashSet::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !seen.insert(key.clone()) {
            return Err(ApiError::bad_request(format!(
                "parameter {key} is repeated"
            )));
        }
        match key.as_ref() {
            "offset" => query.offset = paging::number("offset", &value)?,
            "limit" => query.limit = paging::limit(paging::number("limit", &value)?)?,
            "state" => query.state = Some(state(&value)?),
            "external_id" => query.external_id = Some(value.into_owned()),
            "mainflux_id" => {
                let id = value
                    .parse()
                    .map_err(|_| ApiError::bad_request("mainflux_id must be a UUID"))?;
                query.thing_id = Some(ThingId(id));
            }
            "mainflux_key" => thing_key = Some(value.into_owned()),
            "name" => query.name = Some(paging::name(&value)?),
            _ => {}
        }
    }
    Ok((query, thing_key))
}

fn state(value: &str) -> Result<domain::config::Activation, ApiError> {
    let state: u8 = value
        .parse()
        .map_err(|_| ApiError::bad_request("state must be 0 or 1"))?;
    Ok(activation(state)?)
}

/// `Window` plus the config filters, for `/openapi.json`.
pub struct ConfigFilters;

impl IntoParams for ConfigFilters {
    fn into_params(provider: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let text = || ObjectBuilder::new().schema_type(Type::String);
        let mut params = Window::into_params(provider);
        params.push(query(
            "state",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some([0, 1])),
        ));
        params.push(query("external_id", text()));
        params.push(query(
            "mainflux_id",
            text().format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        ));
        params.push(query("mainflux_key", text()));
        params.push(query(
            "name",
            text()
                .max_length(Some(MAX_NAME_CHARS))
                .description(Some("part of the name, case-insensitive")),
        ));
        params
    }
}
