//! Properties of `validate` and `apply` over random command sequences: a rejected command
//! (batch included) changes nothing, validation before proposal agrees with apply, apply is
//! deterministic, and the state survives a JSON round trip (the snapshot format) unchanged.

use gslb_model::command::{apply, validate};
use gslb_model::model::{
    Actor, AdminState, Endpoint, EndpointTarget, Location, Override, OverrideAction,
    OverrideTarget, Region, State,
};
use gslb_model::{Command, StampedCommand};
use proptest::prelude::*;

const IDS: [&str; 4] = ["a", "b", "c", "bad id"];

fn region(id: &str, capacity: u32) -> Region {
    Region {
        id: id.to_string(),
        location: Location {
            lat_micro: 1,
            lon_micro: 2,
            country: "FR".to_string(),
            continent: "EU".to_string(),
        },
        capacity: Some(capacity),
        min_healthy: None,
    }
}

fn single() -> impl Strategy<Value = Command> {
    let id = || (0..IDS.len()).prop_map(|index| IDS[index].to_string());
    prop_oneof![
        (id(), 0u32..3).prop_map(|(id, capacity)| Command::PutRegion {
            region: region(&id, capacity)
        }),
        id().prop_map(|id| Command::DeleteRegion { id }),
        (id(), id(), 0u32..3).prop_map(|(id, region, weight)| Command::PutEndpoint {
            endpoint: Endpoint {
                id,
                region,
                target: EndpointTarget::Address("192.0.2.1".parse().unwrap()),
                weight,
                admin: AdminState::Enabled,
                labels: Default::default(),
            }
        }),
        id().prop_map(|id| Command::DeleteEndpoint { id }),
        (id(), id()).prop_map(|(id, target)| Command::PutOverride {
            rule: Override {
                id,
                target: OverrideTarget::Endpoint(target),
                action: OverrideAction::Drain,
                reason: "test".to_string(),
                expires_at: None,
                drill: None,
            }
        }),
        id().prop_map(|id| Command::DeleteOverride { id }),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        4 => single(),
        1 => proptest::collection::vec(single(), 0..4)
            .prop_map(|commands| Command::Batch { commands }),
    ]
}

proptest! {
    #[test]
    fn rejected_commands_change_nothing_and_validation_agrees(
        commands in proptest::collection::vec(command(), 1..25)
    ) {
        let mut state = State::default();
        let mut replay = State::default();
        for (index, command) in commands.iter().enumerate() {
            let log_index = index as u64 + 1;
            let stamped = StampedCommand {
                at: 1_000 + log_index,
                actor: Actor::new("prop"),
                command: command.clone(),
            };
            let validated = validate(&state, command);
            let before = state.clone();
            let applied = apply(&mut state, &stamped, log_index);
            prop_assert_eq!(validated.is_ok(), applied.is_ok(), "{}", command);
            if applied.is_err() {
                prop_assert_eq!(&state, &before, "a rejected command changed the state");
            } else {
                prop_assert_eq!(state.version, log_index);
            }
            // Determinism: a second replica applying the same log ends equal.
            let _ = apply(&mut replay, &stamped, log_index);
            prop_assert_eq!(&replay, &state);
            // Referential integrity holds after every step.
            for endpoint in state.endpoints.values() {
                prop_assert!(state.regions.contains_key(&endpoint.region));
            }
            for rule in state.overrides.values() {
                if let OverrideTarget::Endpoint(id) = &rule.target {
                    prop_assert!(state.endpoints.contains_key(id));
                }
            }
        }
        let json = serde_json::to_vec(&state).unwrap();
        let back: State = serde_json::from_slice(&json).unwrap();
        prop_assert_eq!(&back, &state);
    }
}
