//! Quick-reply buttons: the labels a message may offer, and how a network without buttons shows
//! them (numbered lines of the text).

use crate::validate::ValidationError;

/// Most quick-reply buttons on one message.
pub const MAX_BUTTONS: usize = 10;
/// Longest quick-reply button label, in characters.
pub const MAX_BUTTON_LABEL: usize = 80;

/// Checks a message's quick-reply buttons: at most [`MAX_BUTTONS`], each 1 to
/// [`MAX_BUTTON_LABEL`] characters once trimmed, no two alike (whatever the case: an answer
/// is matched to its label that way). The labels, trimmed.
pub fn buttons(raw: &[String]) -> Result<Vec<String>, ValidationError> {
    if raw.len() > MAX_BUTTONS {
        return Err(ValidationError::new("buttons", format!("at most {MAX_BUTTONS} buttons")));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for label in raw {
        let label = label.trim();
        if label.is_empty() || label.chars().count() > MAX_BUTTON_LABEL || label.chars().any(char::is_control)
        {
            return Err(ValidationError::new(
                "buttons",
                format!("each label is 1 to {MAX_BUTTON_LABEL} printable characters"),
            ));
        }
        if out.iter().any(|l| l.to_lowercase() == label.to_lowercase()) {
            return Err(ValidationError::new("buttons", format!("two buttons read “{label}”")));
        }
        out.push(label.to_owned());
    }
    Ok(out)
}

/// The text followed by the labels as numbered lines: how a network without buttons shows
/// them (an answer "2" picks the second).
pub fn with_numbered_buttons(text: &str, labels: &[String]) -> String {
    let mut out = text.trim_end().to_owned();
    out.push('\n');
    for (i, label) in labels.iter().enumerate() {
        out.push_str(&format!("\n{}. {}", i + 1, label.trim()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_are_few_short_distinct_and_fold_into_numbered_lines() {
        let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(buttons(&labels(&[" Sales ", "Support"])).unwrap(), labels(&["Sales", "Support"]));
        assert!(buttons(&labels(&["Yes", "yes"])).is_err(), "alike whatever the case");
        assert!(buttons(&labels(&[" "])).is_err());
        assert!(buttons(&labels(&["a\nb"])).is_err());
        assert!(buttons(&[String::from("x").repeat(MAX_BUTTON_LABEL + 1)]).is_err());
        let many: Vec<String> = (0..=MAX_BUTTONS).map(|i| i.to_string()).collect();
        assert_eq!(buttons(&many).unwrap_err().field, "buttons");
        assert_eq!(
            with_numbered_buttons("Sales or support? ", &labels(&["Sales", "Support"])),
            "Sales or support?\n\n1. Sales\n2. Support"
        );
        let limits = crate::provider::ButtonLimits { max: 3, max_label: 20 };
        assert!(limits.fit(&labels(&["Sales", "Support"])));
        assert!(!limits.fit(&labels(&["a", "b", "c", "d"])), "too many");
        assert!(!limits.fit(&labels(&["A label longer than twenty"])), "too long");
    }
}
