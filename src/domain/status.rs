//! Status moves: which changes of status a lead, a call and a payment may make. The
//! services ask these before they write; the answers are CONFLICT for a move the current
//! status does not allow.

use entities::call::CallStatus;
use entities::lead::LeadStatus;
use entities::payment::PaymentStatus;

use crate::error::{AppError, AppResult};

fn conflict(message: &str) -> AppError {
    AppError::Conflict(message.to_owned())
}

/// A lead nobody has booked, won or lost yet: booking a call with them makes them BOOKED.
pub fn lead_is_open(status: LeadStatus) -> bool {
    matches!(
        status,
        LeadStatus::New | LeadStatus::Contacted | LeadStatus::Qualified
    )
}

/// Only a scheduled call moves (another time, another closer's calendar).
pub fn call_may_move(status: CallStatus) -> AppResult<()> {
    match status {
        CallStatus::Scheduled => Ok(()),
        _ => Err(conflict("only a scheduled call can be rescheduled")),
    }
}

/// Whether a call may be canceled: `Ok(false)` when it already is (harmless), CONFLICT
/// when it is past scheduling.
pub fn call_may_cancel(status: CallStatus) -> AppResult<bool> {
    match status {
        CallStatus::Canceled => Ok(false),
        CallStatus::Scheduled => Ok(true),
        _ => Err(conflict("only a scheduled call can be canceled")),
    }
}

/// An outcome (completed, no-show) is logged on a scheduled call and can be corrected;
/// a canceled or rescheduled call has none.
pub fn call_may_log_outcome(status: CallStatus) -> AppResult<()> {
    match status {
        CallStatus::Scheduled | CallStatus::Completed | CallStatus::NoShow => Ok(()),
        CallStatus::Canceled | CallStatus::Rescheduled => {
            Err(conflict("a canceled or rescheduled call has no outcome"))
        }
    }
}

/// A payment is recorded PENDING, SUCCEEDED or FAILED; REFUNDED is reached only by a
/// refund.
pub fn payment_may_start_as(status: PaymentStatus) -> AppResult<()> {
    if status == PaymentStatus::Refunded {
        return Err(AppError::validation(
            "status",
            "a payment is recorded as PENDING, SUCCEEDED or FAILED; refund it with refundPayment",
        ));
    }
    Ok(())
}

/// An update asks for PENDING, SUCCEEDED or FAILED; REFUNDED is reached only by a refund.
pub fn payment_may_ask_for(status: PaymentStatus) -> AppResult<()> {
    if status == PaymentStatus::Refunded {
        return Err(AppError::validation(
            "status",
            "refund a payment with refundPayment",
        ));
    }
    Ok(())
}

/// PENDING and FAILED move among the three; SUCCEEDED only becomes REFUNDED (by a refund);
/// REFUNDED is final.
pub fn payment_may_move(from: PaymentStatus, to: PaymentStatus) -> AppResult<()> {
    match (from, to) {
        (PaymentStatus::Refunded, _) => Err(conflict("a refunded payment cannot change")),
        (PaymentStatus::Succeeded, PaymentStatus::Pending | PaymentStatus::Failed) => Err(
            conflict("a succeeded payment can only be refunded (refundPayment)"),
        ),
        _ => Ok(()),
    }
}

/// Whether a payment may be refunded: `Ok(false)` when it already is (harmless).
pub fn payment_may_refund(status: PaymentStatus) -> AppResult<bool> {
    match status {
        PaymentStatus::Refunded => Ok(false),
        PaymentStatus::Succeeded => Ok(true),
        _ => Err(conflict("only a succeeded payment can be refunded")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_moves() {
        assert!(call_may_move(CallStatus::Scheduled).is_ok());
        assert_eq!(
            call_may_move(CallStatus::Completed).unwrap_err().code(),
            "CONFLICT"
        );
        assert!(!call_may_cancel(CallStatus::Canceled).unwrap());
        assert!(call_may_cancel(CallStatus::Scheduled).unwrap());
        assert!(call_may_cancel(CallStatus::NoShow).is_err());
        assert!(call_may_log_outcome(CallStatus::Completed).is_ok());
        assert!(call_may_log_outcome(CallStatus::Canceled).is_err());
    }

    #[test]
    fn payment_moves() {
        use PaymentStatus::*;
        assert!(payment_may_start_as(Refunded).is_err());
        assert!(payment_may_move(Pending, Succeeded).is_ok());
        assert!(payment_may_move(Failed, Pending).is_ok());
        assert_eq!(
            payment_may_move(Succeeded, Failed).unwrap_err().code(),
            "CONFLICT"
        );
        assert_eq!(
            payment_may_move(Refunded, Refunded).unwrap_err().code(),
            "CONFLICT"
        );
        assert_eq!(
            payment_may_ask_for(Refunded).unwrap_err().code(),
            "VALIDATION_ERROR"
        );
        assert!(payment_may_ask_for(Failed).is_ok());
        assert!(payment_may_refund(Succeeded).unwrap());
        assert!(!payment_may_refund(Refunded).unwrap());
        assert!(payment_may_refund(Pending).is_err());
        assert!(lead_is_open(entities::lead::LeadStatus::Qualified));
        assert!(!lead_is_open(entities::lead::LeadStatus::Won));
    }
}
