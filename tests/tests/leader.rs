//! Leader election on a Lease: one leader at a time, and a new leader once
//! the old one stops renewing.

use std::time::Duration;

use supaplane_operator::leader::LeaderElector;
use supaplane_tests::harness::{TestCluster, create_unique_namespace};

#[tokio::test]
async fn one_leader_at_a_time_and_takeover_after_expiry() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let namespace = create_unique_namespace(&client, "leader").await?;
    let lease = Duration::from_secs(2);
    let first = LeaderElector::new(client.clone(), &namespace, "operator", "replica-a", lease);
    let second = LeaderElector::new(client.clone(), &namespace, "operator", "replica-b", lease);

    assert!(
        first.try_acquire_or_renew().await?,
        "the first candidate takes the free lease"
    );
    assert!(
        !second.try_acquire_or_renew().await?,
        "a held lease is not taken"
    );
    assert!(first.try_acquire_or_renew().await?, "the holder renews");

    // Racing candidates: exactly one wins.
    let (a, b) = tokio::join!(first.try_acquire_or_renew(), second.try_acquire_or_renew());
    assert_eq!((a?, b?), (true, false));

    // The holder stops renewing; once the lease expires the other takes over.
    tokio::time::sleep(lease + Duration::from_millis(1500)).await;
    assert!(
        second.try_acquire_or_renew().await?,
        "an expired lease is taken over"
    );
    assert!(
        !first.try_acquire_or_renew().await?,
        "the old holder has lost it"
    );
    Ok(())
}
