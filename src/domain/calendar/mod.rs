//! Calendar arithmetic for booking: a link's weekly hours in its own time zone, the
//! 5-minute blocks a call holds, and the free slots left between them. Pure functions of
//! their inputs (the clock included), so daylight-saving edges are tested on fixed dates.

pub mod availability;
pub mod schedule;

pub use schedule::GRANULARITY_MINUTES;

use crate::error::{AppError, AppResult};

/// Calls and booking links live on a 5-minute grid: `value` minutes, between `min` and
/// `max`, a multiple of the grid.
pub fn minutes(field: &str, value: i32, min: i32, max: i32) -> AppResult<i32> {
    let step = GRANULARITY_MINUTES as i32;
    if value < min || value > max || value % step != 0 {
        return Err(AppError::validation(
            field,
            format!("must be a multiple of {step} between {min} and {max}"),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_sit_on_the_grid() {
        assert_eq!(minutes("durationMinutes", 45, 5, 480).unwrap(), 45);
        for bad in [0, 7, 485] {
            assert_eq!(
                minutes("durationMinutes", bad, 5, 480).unwrap_err().field(),
                Some("durationMinutes")
            );
        }
    }
}
