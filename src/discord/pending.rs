//! Things waiting for a click: host previews and cancel confirmations. Kept in memory on purpose
//! (nothing is stored before Save) and dropped after 15 minutes, when the interaction token that
//! shows them expires anyway.

use crate::domain::{GuildId, Location, MasterclassId, NewMasterclass, UserId};
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
    pub checked: Option<NewMasterclass>,
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
    pub fn take_draft(&self, key: u64) -> Option<Draft> {
        let draft = self.draft(key);
        self.drafts.lock().expect("pending map").remove(&key);
        draft
    }
    pub fn add_cancel(&self, request: CancelRequest) -> u64 {
        insert(&self.cancels, request)
    }
    pub fn take_cancel(&self, key: u64) -> Option<CancelRequest> {
        let request = get(&self.cancels, key);
        self.cancels.lock().expect("pending map").remove(&key);
        request
    }
}
