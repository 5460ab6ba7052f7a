//! `cargo run --example events`: a dashboard host and sensor plugins that
//! publish measurements on `home/<room>/<quantity>`. The host subscribes
//! with wildcards: `home/+/temperature` (every room's temperature) and
//! `home/kitchen/#` (everything in the kitchen), and a third, slow
//! subscriber on `home/#` that reads one event per 20 ms: it lags, is told
//! by how much, and costs the publishers and the fast subscribers nothing.
//!
//! The Rust sensor is this very program; the Python and TypeScript ones
//! (examples/events/python, examples/events/typescript) join when present,
//! and need `python3`, and `node` with `npm`.

#[path = "contract.rs"]
mod contract;
#[path = "../support/languages.rs"]
mod languages;
#[path = "plugin.rs"]
mod plugin;

use std::path::Path;
use std::time::Duration;

use contract::{SensorClient, SensorEvents};
use futures::StreamExt;

/// Measurements each sensor publishes, and how far apart.
const COUNT: u32 = 200;
const INTERVAL_MS: u32 = 2;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("plugin") {
        plugin::run(args.next()).await?;
        return Ok(());
    }

    // Each subscription keeps up to 32 events for a reader that has not
    // taken them; beyond that it drops the oldest.
    let bus = goproc::Bus::with_capacity(32);
    let events = SensorEvents::on(&bus);
    let temperatures = events.subscribe_measurement("home/+/temperature")?;
    let kitchen = events.subscribe_measurement("home/kitchen/#")?;
    let slow = events.subscribe_measurement("home/#")?;

    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/events");
    let mut sensors = Vec::new();
    for (language, program, mut args, room) in sensor_commands(&folder)? {
        args.push(room.clone());
        let plugin = goproc::Plugin::builder(program)
            .args(args)
            .name(format!("sensor ({language}, {room})"))
            .contract::<SensorClient>()
            // The bus this plugin publishes to and subscribes on.
            .bus(&bus)
            .spawn()
            .await?;
        println!(
            "started {language:<11} sensor in the {room:<8} pid {}",
            plugin.pid()
        );
        sensors.push((plugin.client::<SensorClient>()?, plugin));
    }
    let total = COUNT as usize * sensors.len();
    // Every sensor alternates temperature and humidity, starting with temperature.
    let temperature_count = COUNT.div_ceil(2) as usize * sensors.len();
    let kitchen_count = if sensors.len() >= 2 {
        COUNT as usize
    } else {
        0
    };
    println!();

    let fast_temperatures = tokio::spawn(async move {
        let mut temperatures = temperatures;
        let (mut got, mut lagged) = (0, 0);
        while got < temperature_count {
            let Some(event) = temperatures.next().await else {
                break;
            };
            if got % 100 == 0 {
                println!(
                    "  home/+/temperature  {:<24} {:>6.2} °C ({})",
                    event.topic, event.payload.value, event.payload.sensor
                );
            }
            got += 1;
            lagged += event.lagged;
        }
        (got, lagged)
    });
    let fast_kitchen = tokio::spawn(async move {
        let mut kitchen = kitchen;
        let (mut got, mut lagged) = (0, 0);
        while got < kitchen_count {
            let Some(event) = kitchen.next().await else {
                break;
            };
            got += 1;
            lagged += event.lagged;
        }
        (got, lagged)
    });
    let slow_reader = tokio::spawn(async move {
        let mut slow = slow;
        let (mut got, mut lagged) = (0u64, 0u64);
        while got + lagged < total as u64 {
            let Some(event) = slow.next().await else {
                break;
            };
            if event.lagged > 0 && got % 10 == 0 {
                println!(
                    "  home/# (slow)       {:<24} after missing {} events",
                    event.topic, event.lagged
                );
            }
            got += 1;
            lagged += event.lagged;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (got, lagged)
    });

    // All sensors at once.
    let runs = sensors
        .iter()
        .map(|(sensor, _)| sensor.run(COUNT, INTERVAL_MS));
    let published: u32 = futures::future::try_join_all(runs).await?.into_iter().sum();

    let (temps, temps_lagged) = fast_temperatures.await?;
    let (kitchen, kitchen_lagged) = fast_kitchen.await?;
    let (slow, slow_lagged) = slow_reader.await?;
    println!();
    println!("published by the sensors:       {published}");
    println!(
        "home/+/temperature (fast) got:  {temps} of {temperature_count}, missed {temps_lagged}"
    );
    println!(
        "home/kitchen/#     (fast) got:  {kitchen} of {kitchen_count}, missed {kitchen_lagged}"
    );
    println!(
        "home/#             (slow) got:  {slow}, told it missed {slow_lagged}: {} in all",
        slow + slow_lagged
    );

    for (_, plugin) in sensors {
        plugin.shutdown(Duration::from_secs(5)).await?;
    }
    Ok(())
}

/// The sensors and their rooms: Rust in the hall, Python in the kitchen,
/// TypeScript in the garage.
fn sensor_commands(folder: &Path) -> Result<Vec<Sensor>, Box<dyn std::error::Error>> {
    let rooms = ["hall", "kitchen", "garage"];
    Ok(languages::plugin_commands(folder)?
        .into_iter()
        .zip(rooms)
        .map(|((language, program, args), room)| (language, program, args, room.to_string()))
        .collect())
}

/// (language, program, arguments, room)
type Sensor = (&'static str, std::path::PathBuf, Vec<String>, String);
