//! Owners' emails, for the feeds' `owner` fields: Mainflux's `owner` is the email, while
//! our create events carry the owner's id. Emails never change and users are never
//! removed, so folding the same `user.register` twice (a resync) changes nothing.

use std::collections::HashMap;

use domain::Event;
use domain::ids::UserId;

#[derive(Debug, Default)]
pub struct Owners {
    emails: HashMap<UserId, String>,
}

impl Owners {
    /// Learns the email of a `user.register`; every other event leaves it as it is.
    pub fn fold(&mut self, event: &Event) {
        if let Event::UserRegistered { id, email, .. } = event {
            self.emails.insert(*id, email.clone());
        }
    }

    /// The owner's email; the id as text for an owner this history never registered
    /// (an imported partial history), so the field is never missing.
    pub fn email(&self, owner: &UserId) -> String {
        self.emails
            .get(owner)
            .cloned()
            .unwrap_or_else(|| owner.to_string())
    }
}
