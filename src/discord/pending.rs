//! Things waiting for a click: host previews and cancel confirmations. Kept in memory on purpose
//! (nothing is stored before Save) and dropped after 15 minutes, when the interaction token that
//! shows them expires anyway.

use crate::domain::{Caller, GuildId, Location, MasterclassId, NewMasterclass, UserError, UserId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const LIFETIME: Duration = Duration::from_secs(15 * 60);

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

#[derive(Default)]
pub struct Pending {
    drafts: Mutex<HashMap<u64, (Instant, Draft)>>,
    cancels: Mutex<HashMap<u64, (Instant, CancelRequest)>>,
    /// Drafts being saved (`None`) or saved: a second click on Save is answered from here.
    saved: Mutex<HashMap<u64, (Instant, Option<MasterclassId>)>>,
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
    map: &Mutex<HashMap<u64, (Instant, T)>>,
    key: u64,
    allowed: impl FnOnce(&T) -> Result<(), UserError>,
) -> Result<T, UserError> {
    let mut map = map.lock().expect("pending map");
    match map.get(&key) {
        Some((at, value)) if at.elapsed() < LIFETIME => allowed(value)?,
        _ => return Err(UserError::Expired),
    }
    Ok(map.remove(&key).expect("present").1)
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

fn insert<T>(map: &Mutex<HashMap<u64, (Instant, T)>>, value: T) -> u64 {
    let mut map = map.lock().expect("pending map");
    map.retain(|_, (at, _)| at.elapsed() < LIFETIME);
    let key = rand::random::<u64>() >> 11; // short enough for a custom_id, long enough to be unguessable
    map.insert(key, (Instant::now(), value));
    key
}

fn get<T: Clone>(map: &Mutex<HashMap<u64, (Instant, T)>>, key: u64) -> Option<T> {
    let map = map.lock().expect("pending map");
    map.get(&key)
        .filter(|(at, _)| at.elapsed() < LIFETIME)
        .map(|(_, v)| v.clone())
}

impl Pending {
    pub fn add_draft(&self, draft: Draft) -> u64 {
        insert(&self.drafts, draft)
    }
    pub fn draft(&self, key: u64) -> Option<Draft> {
        get(&self.drafts, key)
    }
    pub fn update_draft(&self, key: u64, draft: Draft) {
        if let Some(entry) = self.drafts.lock().expect("pending map").get_mut(&key) {
            entry.1 = draft;
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
        take_if(&self.drafts, key, |draft| owns_draft(draft, caller))
    }

    /// Save takes the draft atomically, so two quick clicks host it once; the second click
    /// learns that it is being saved or was saved.
    pub fn begin_save(&self, key: u64, caller: &Caller) -> Result<SaveStart, UserError> {
        let mut saved = self.saved.lock().expect("pending map");
        saved.retain(|_, (at, _)| at.elapsed() < LIFETIME);
        if let Some((_, outcome)) = saved.get(&key) {
            return Ok(outcome.map_or(SaveStart::Saving, SaveStart::Saved));
        }
        let draft = take_if(&self.drafts, key, |draft| {
            owns_draft(draft, caller)?;
            draft.checked.as_ref().map(drop).ok_or(UserError::Expired)
        })?;
        saved.insert(key, (Instant::now(), None));
        Ok(SaveStart::Draft(draft.checked.expect("checked above")))
    }

    /// The save of `key` ended: with the masterclass, or refused (a new click finds nothing).
    pub fn end_save(&self, key: u64, saved: Option<MasterclassId>) {
        let mut map = self.saved.lock().expect("pending map");
        match saved {
            Some(id) => {
                map.insert(key, (Instant::now(), Some(id)));
            }
            None => {
                map.remove(&key);
            }
        }
    }

    pub fn add_cancel(&self, request: CancelRequest) -> u64 {
        insert(&self.cancels, request)
    }

    /// Confirm or Keep: only the click of whoever asked takes the request.
    pub fn take_cancel(&self, key: u64, caller: &Caller) -> Result<CancelRequest, UserError> {
        take_if(&self.cancels, key, |request| owns_cancel(request, caller))
    }
}
