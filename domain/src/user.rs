//! The User aggregate: registration, profile metadata, password.
//!
//! Email uniqueness spans all users, so the command layer checks it against the users view
//! before `decide`; inside one user's stream `decide` guards "registered once".

use crate::DomainError;
use crate::event::Event;
use crate::ids::{PasswordHash, UserId};
use crate::values::{Metadata, check_email, check_metadata};

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub password_hash: PasswordHash,
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum UserState {
    #[default]
    New,
    Registered(User),
}

#[derive(Debug, Clone)]
pub enum UserCommand {
    Register {
        id: UserId,
        email: String,
        password_hash: PasswordHash,
        metadata: Option<Metadata>,
    },
    /// Replaces the metadata wholesale, as Mainflux's `PUT /users` does.
    Update {
        metadata: Option<Metadata>,
    },
    ChangePassword {
        password_hash: PasswordHash,
    },
}

pub fn decide(state: &UserState, command: &UserCommand) -> Result<Vec<Event>, DomainError> {
    match (state, command) {
        (
            UserState::New,
            UserCommand::Register {
                id,
                email,
                password_hash,
                metadata,
            },
        ) => {
            check_email(email)?;
            check_metadata(metadata.as_ref())?;
            Ok(vec![Event::UserRegistered {
                id: *id,
                email: email.clone(),
                password_hash: password_hash.clone(),
                metadata: metadata.clone(),
            }])
        }
        (UserState::Registered(_), UserCommand::Register { .. }) => {
            Err(DomainError::Conflict("user already exists".into()))
        }
        (UserState::New, _) => Err(DomainError::NotFound),
        (UserState::Registered(user), UserCommand::Update { metadata }) => {
            check_metadata(metadata.as_ref())?;
            Ok(vec![Event::UserUpdated {
                id: user.id,
                metadata: metadata.clone(),
            }])
        }
        (UserState::Registered(user), UserCommand::ChangePassword { password_hash }) => {
            Ok(vec![Event::UserPasswordChanged {
                id: user.id,
                password_hash: password_hash.clone(),
            }])
        }
    }
}

pub fn apply(state: UserState, event: &Event) -> UserState {
    match (state, event) {
        (
            UserState::New,
            Event::UserRegistered {
                id,
                email,
                password_hash,
                metadata,
            },
        ) => UserState::Registered(User {
            id: *id,
            email: email.clone(),
            password_hash: password_hash.clone(),
            metadata: metadata.clone(),
        }),
        (UserState::Registered(mut user), Event::UserUpdated { metadata, .. }) => {
            user.metadata = metadata.clone();
            UserState::Registered(user)
        }
        (UserState::Registered(mut user), Event::UserPasswordChanged { password_hash, .. }) => {
            user.password_hash = password_hash.clone();
            UserState::Registered(user)
        }
        (state, _) => state,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;

    fn hash(n: u8) -> PasswordHash {
        PasswordHash(format!("$argon2id$test${n}"))
    }

    fn command() -> impl Strategy<Value = UserCommand> {
        let id = UserId(Uuid::from_u128(1));
        prop_oneof![
            prop::sample::select(vec!["a@b.co", "bad", "x.y@z.org"]).prop_map(move |e| {
                UserCommand::Register {
                    id,
                    email: e.into(),
                    password_hash: hash(0),
                    metadata: None,
                }
            }),
            any::<u8>().prop_map(|n| UserCommand::Update {
                metadata: Some(Metadata::from_iter([("n".into(), n.into())]))
            }),
            any::<u8>().prop_map(|n| UserCommand::ChangePassword {
                password_hash: hash(n)
            }),
        ]
    }

    #[test]
    fn given_registered_user_when_registering_again_then_conflict() {
        let register = UserCommand::Register {
            id: UserId(Uuid::from_u128(1)),
            email: "a@b.co".into(),
            password_hash: hash(1),
            metadata: None,
        };
        let events = decide(&UserState::New, &register).unwrap();
        let state = events.iter().fold(UserState::New, apply);
        assert!(matches!(
            decide(&state, &register),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn given_no_user_when_updating_then_not_found() {
        let update = UserCommand::Update { metadata: None };
        assert_eq!(decide(&UserState::New, &update), Err(DomainError::NotFound));
    }

    proptest! {
        #[test]
        fn fold_of_recorded_events_equals_live_state(commands in prop::collection::vec(command(), 0..30)) {
            let mut state = UserState::New;
            let mut history = Vec::new();
            for command in &commands {
                if let Ok(events) = decide(&state, command) {
                    for event in &events {
                        state = apply(state, event);
                    }
                    history.extend(events);
                }
            }
            let replayed = history.iter().fold(UserState::New, apply);
            prop_assert_eq!(&replayed, &state);
            // Invariant: at most one registration, and it always has a valid email.
            let registrations = history.iter().filter(|e| e.kind() == "user.register").count();
            prop_assert!(registrations <= 1);
            if let UserState::Registered(user) = &state {
                prop_assert!(check_email(&user.email).is_ok());
            }
        }
    }
}
