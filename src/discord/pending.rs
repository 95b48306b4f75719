//! Things waiting for a click: host previews and cancel confirmations. Kept in memory on purpose
//! (nothing is stored before Save) and dropped after 15 minutes, when the interaction token that
//! shows them expires anyway. Bounded: a host has at most [`DRAFTS_PER_HOST`] previews open (a
//! new one drops their least recently used, whose buttons then answer "expired"), and each kind
//! of thing waits at most [`MAX_WAITING`] times overall.

use super::cache::{BoundedMap, Locked};
use crate::domain::{Caller, GuildId, Location, MasterclassId, NewMasterclass, UserError, UserId};
use std::time::Duration;

const LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Previews one host may have open at once: a few tabs' worth. One more drops the least recently
/// used (rather than refusing the new one: the host is looking at the newest).
pub const DRAFTS_PER_HOST: usize = 3;
/// Previews, cancel confirmations and saves remembered at once, each (the least recently used
/// goes first).
pub const MAX_WAITING: usize = 500;

/// Options of `/masterclass host` waiting for the form, then the checked masterclass waiting for Save.
#[derive(Clone, Debug)]
pub struct Draft {
    pub guild_id: GuildId,
    pub host_id: UserId,
    pub guests: Vec<(UserId, bool)>,
    pub location: Option<Location>,
    pub time_zone: Option<String>,
    /// What the host last typed in the form, to fill it in again after a refusal (**Fix it**).
    pub typed: FormValues,
    pub checked: Option<NewMasterclass>,
}

/// The text inputs of the host form as typed (empty when left blank).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormValues {
    pub title: String,
    pub description: String,
    pub start: String,
    pub duration: String,
    pub capacity: String,
}

#[derive(Clone, Debug)]
pub struct CancelRequest {
    pub guild_id: GuildId,
    pub user_id: UserId,
    pub masterclass_id: MasterclassId,
    pub reason: String,
}

pub struct Pending {
    drafts: BoundedMap<u64, Draft>,
    cancels: BoundedMap<u64, CancelRequest>,
    /// Drafts being saved (`None`) or saved: a second click on Save is answered from here.
    saved: BoundedMap<u64, Option<MasterclassId>>,
}

impl Default for Pending {
    fn default() -> Self {
        Self {
            drafts: BoundedMap::new(MAX_WAITING, LIFETIME),
            cancels: BoundedMap::new(MAX_WAITING, LIFETIME),
            saved: BoundedMap::new(MAX_WAITING, LIFETIME),
        }
    }
}

/// What a click on Save finds.
#[derive(Debug)]
pub enum SaveStart {
    /// The checked draft, now taken: no other click can save it.
    Draft(NewMasterclass),
    /// Another click is saving it right now.
    Saving,
    Saved(MasterclassId),
}

/// Takes `key` if `allowed` says so; someone else's click leaves it in place.
fn take_if<T>(
    map: &mut Locked<'_, u64, T>,
    key: u64,
    allowed: impl FnOnce(&T) -> Result<(), UserError>,
) -> Result<T, UserError> {
    allowed(map.get(&key).ok_or(UserError::Expired)?)?;
    map.remove(&key).ok_or(UserError::Expired)
}

fn owns_draft(draft: &Draft, caller: &Caller) -> Result<(), UserError> {
    if draft.host_id == caller.user_id && draft.guild_id == caller.guild_id {
        Ok(())
    } else {
        Err(UserError::NotYours)
    }
}

fn owns_cancel(request: &CancelRequest, caller: &Caller) -> Result<(), UserError> {
    if request.user_id == caller.user_id && request.guild_id == caller.guild_id {
        Ok(())
    } else {
        Err(UserError::NotYours)
    }
}

/// Short enough for a custom_id, long enough to be unguessable.
fn new_key() -> u64 {
    rand::random::<u64>() >> 11
}

impl Pending {
    /// Keeps `draft` for the form and the preview; the host's least recently used draft goes if
    /// they already have [`DRAFTS_PER_HOST`].
    pub fn add_draft(&self, draft: Draft) -> u64 {
        let mut drafts = self.drafts.lock();
        let mine = drafts.keys_where(|open| open.host_id == draft.host_id);
        let too_many = (mine.len() + 1).saturating_sub(DRAFTS_PER_HOST);
        for older in &mine[..too_many] {
            drafts.remove(older);
        }
        let key = new_key();
        drafts.insert(key, draft);
        key
    }
    pub fn draft(&self, key: u64) -> Option<Draft> {
        self.drafts.get(&key)
    }
    pub fn update_draft(&self, key: u64, draft: Draft) {
        if let Some(entry) = self.drafts.lock().get_mut(&key) {
            *entry = draft;
        }
    }
    /// The draft for the host's own click (Fix it); it stays in place for the form.
    pub fn own_draft(&self, key: u64, caller: &Caller) -> Result<Draft, UserError> {
        let draft = self.draft(key).ok_or(UserError::Expired)?;
        owns_draft(&draft, caller)?;
        Ok(draft)
    }
    /// Discard: only the host's own click takes the draft away.
    pub fn discard_draft(&self, key: u64, caller: &Caller) -> Result<Draft, UserError> {
        take_if(&mut self.drafts.lock(), key, |draft| {
            owns_draft(draft, caller)
        })
    }

    /// Save takes the draft atomically, so two quick clicks host it once; the second click
    /// learns that it is being saved or was saved.
    pub fn begin_save(&self, key: u64, caller: &Caller) -> Result<SaveStart, UserError> {
        let mut saved = self.saved.lock();
        if let Some(outcome) = saved.get(&key) {
            return Ok(outcome.map_or(SaveStart::Saving, SaveStart::Saved));
        }
        let draft = take_if(&mut self.drafts.lock(), key, |draft| {
            owns_draft(draft, caller)?;
            draft.checked.as_ref().map(drop).ok_or(UserError::Expired)
        })?;
        saved.insert(key, None);
        Ok(SaveStart::Draft(draft.checked.expect("checked above")))
    }

    /// The save of `key` ended: with the masterclass, or refused (a new click finds nothing).
    pub fn end_save(&self, key: u64, saved: Option<MasterclassId>) {
        match saved {
            Some(id) => self.saved.insert(key, Some(id)),
            None => {
                self.saved.remove(&key);
            }
        }
    }

    pub fn add_cancel(&self, request: CancelRequest) -> u64 {
        let key = new_key();
        self.cancels.insert(key, request);
        key
    }

    /// Confirm or Keep: only the click of whoever asked takes the request.
    pub fn take_cancel(&self, key: u64, caller: &Caller) -> Result<CancelRequest, UserError> {
        take_if(&mut self.cancels.lock(), key, |request| {
            owns_cancel(request, caller)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(host: u64) -> Draft {
        Draft {
            guild_id: GuildId(1),
            host_id: UserId(host),
            guests: Vec::new(),
            location: None,
            time_zone: None,
            typed: FormValues::default(),
            checked: None,
        }
    }

    fn caller(host: u64) -> Caller {
        Caller {
            guild_id: GuildId(1),
            user_id: UserId(host),
            role_ids: Vec::new(),
            is_admin: false,
        }
    }

    #[test]
    fn a_host_keeps_at_most_three_drafts_and_loses_the_least_recently_used() {
        let pending = Pending::default();
        let other = pending.add_draft(draft(2));
        let keys: Vec<u64> = (0..DRAFTS_PER_HOST)
            .map(|_| pending.add_draft(draft(1)))
            .collect();
        // The host goes back to their first preview (Fix it): it is now the most recently used.
        assert!(pending.own_draft(keys[0], &caller(1)).is_ok());

        let newest = pending.add_draft(draft(1));

        assert_eq!(
            pending.own_draft(keys[1], &caller(1)).unwrap_err(),
            UserError::Expired,
            "the least recently used draft was dropped"
        );
        for key in [keys[0], keys[2], newest] {
            assert!(pending.own_draft(key, &caller(1)).is_ok());
        }
        assert!(
            pending.own_draft(other, &caller(2)).is_ok(),
            "other hosts keep theirs"
        );
        let open = pending.drafts.lock().keys_where(|d| d.host_id == UserId(1));
        assert_eq!(open.len(), DRAFTS_PER_HOST);
    }

    #[test]
    fn drafts_are_capped_overall() {
        let pending = Pending::default();
        let first = pending.add_draft(draft(0));
        for host in 1..=(MAX_WAITING as u64 + 50) {
            pending.add_draft(draft(host));
        }
        assert_eq!(pending.drafts.lock().len(), MAX_WAITING);
        assert!(pending.draft(first).is_none(), "the oldest went first");
    }
}
