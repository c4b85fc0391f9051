//! The organizations each user belongs to, kept from the Organizations watch
//! as the cache is: the profile, permissions and organization list a user
//! asks for on every page touch that user's organizations only, not every
//! organization in the cluster.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use kube::ResourceExt;
use kube::runtime::watcher::Event;
use supaplane_crds::Organization;

#[derive(Clone, Default)]
pub struct MemberIndex(Arc<RwLock<Index>>);

/// Each user's organizations, by slug (so in the order Studio lists them).
type ByUser = HashMap<String, BTreeSet<String>>;

#[derive(Default)]
struct Index {
    by_user: ByUser,
    /// Each organization's members as last indexed, to drop those removed.
    members: HashMap<String, Vec<String>>,
    /// A relist under way is built apart and swapped in when complete.
    relisting: Option<(ByUser, HashMap<String, Vec<String>>)>,
}

fn insert(by_user: &mut ByUser, members: &mut HashMap<String, Vec<String>>, org: &Organization) {
    let slug = org.name_any();
    remove(by_user, members, &slug);
    let users: Vec<String> = org.spec.members.iter().map(|m| m.user_id.clone()).collect();
    for user in &users {
        by_user
            .entry(user.clone())
            .or_default()
            .insert(slug.clone());
    }
    members.insert(slug, users);
}

fn remove(by_user: &mut ByUser, members: &mut HashMap<String, Vec<String>>, slug: &str) {
    for user in members.remove(slug).unwrap_or_default() {
        if let Some(slugs) = by_user.get_mut(&user) {
            slugs.remove(slug);
            if slugs.is_empty() {
                by_user.remove(&user);
            }
        }
    }
}

impl MemberIndex {
    /// Takes in one event of the Organizations watch.
    pub fn apply(&self, event: &Event<Organization>) {
        let mut index = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = &mut *index;
        match event {
            Event::Apply(org) => insert(&mut index.by_user, &mut index.members, org),
            Event::Delete(org) => remove(&mut index.by_user, &mut index.members, &org.name_any()),
            Event::Init => index.relisting = Some(Default::default()),
            Event::InitApply(org) => {
                if let Some((by_user, members)) = index.relisting.as_mut() {
                    insert(by_user, members, org);
                }
            }
            Event::InitDone => {
                if let Some((by_user, members)) = index.relisting.take() {
                    index.by_user = by_user;
                    index.members = members;
                }
            }
        }
    }

    /// The slugs of the organizations `user_id` is a member of, in order.
    pub fn organizations_of(&self, user_id: &str) -> Vec<String> {
        let index = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        index
            .by_user
            .get(user_id)
            .map(|slugs| slugs.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn organization(slug: &str, members: &[&str]) -> Organization {
        let members: Vec<_> = members
            .iter()
            .map(|user| serde_json::json!({"userId": user, "email": format!("{user}@example.com"), "role": "Owner"}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Organization",
            "metadata": {"name": slug},
            "spec": {"displayName": slug, "members": members},
        }))
        .expect("organization")
    }

    #[test]
    fn memberships_follow_adds_removals_deletes_and_relists() {
        let index = MemberIndex::default();
        index.apply(&Event::Apply(organization("zeta", &["ann", "bob"])));
        index.apply(&Event::Apply(organization("acme", &["ann"])));
        assert_eq!(index.organizations_of("ann"), ["acme", "zeta"]);
        assert_eq!(index.organizations_of("bob"), ["zeta"]);
        // Bob removed from zeta.
        index.apply(&Event::Apply(organization("zeta", &["ann"])));
        assert!(index.organizations_of("bob").is_empty());
        index.apply(&Event::Delete(organization("acme", &["ann"])));
        assert_eq!(index.organizations_of("ann"), ["zeta"]);
        // A relist replaces everything at once when complete.
        index.apply(&Event::Init);
        index.apply(&Event::InitApply(organization("beta", &["bob"])));
        assert_eq!(index.organizations_of("ann"), ["zeta"], "until done");
        index.apply(&Event::InitDone);
        assert!(index.organizations_of("ann").is_empty());
        assert_eq!(index.organizations_of("bob"), ["beta"]);
    }
}
