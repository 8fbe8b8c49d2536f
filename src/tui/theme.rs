//! Every colour the TUI uses, by meaning. Views ask the theme for
//! `state(Waiting)` or `error()`, never for a colour; `--no-color` (and
//! `NO_COLOR`) swaps in [`Theme::plain`], which keeps only bold, dim and
//! reverse.

use super::event::LogKind;
use crate::threading::ThreadState;
use ratatui::style::{Color, Modifier, Style};

/// Semantic styles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    color: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Self::colored()
    }
}

const BOLD: Modifier = Modifier::BOLD;

impl Theme {
    /// With colours.
    pub fn colored() -> Self {
        Self { color: true }
    }

    /// Without colours (`--no-color`, `NO_COLOR`).
    pub fn plain() -> Self {
        Self { color: false }
    }

    /// True when colours are used.
    pub fn has_color(&self) -> bool {
        self.color
    }

    fn fg(&self, color: Color) -> Style {
        if self.color { Style::new().fg(color) } else { Style::new() }
    }

    /// Ordinary text.
    pub fn text(&self) -> Style {
        Style::new()
    }

    /// Secondary text: labels, units, hints.
    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray).add_modifier(if self.color { Modifier::empty() } else { Modifier::DIM })
    }

    /// A title or a heading.
    pub fn heading(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(BOLD)
    }

    /// The program name in the header.
    pub fn brand(&self) -> Style {
        self.fg(Color::LightCyan).add_modifier(BOLD)
    }

    /// A tab title; `active` for the current screen.
    pub fn tab(&self, active: bool) -> Style {
        if active { Style::new().add_modifier(Modifier::REVERSED | BOLD) } else { self.fg(Color::Gray) }
    }

    /// The key number next to a tab title.
    pub fn tab_key(&self) -> Style {
        self.fg(Color::Yellow)
    }

    /// A table's header row; `sorted` for the sort column.
    pub fn table_header(&self, sorted: bool) -> Style {
        let base = self.fg(Color::Cyan).add_modifier(BOLD);
        if sorted { base.add_modifier(Modifier::UNDERLINED) } else { base }
    }

    /// The selected row.
    pub fn selected(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Indexed(237)).add_modifier(BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// A thread state.
    pub fn state(&self, state: ThreadState) -> Style {
        match state {
            ThreadState::Created => self.fg(Color::Blue),
            ThreadState::Running => self.fg(Color::Green),
            ThreadState::Waiting => self.fg(Color::Yellow),
            ThreadState::Terminated => self.dim(),
        }
    }

    /// A timeline cell in `state` (a coloured block; plain: a distinct glyph).
    pub fn state_bar(&self, state: ThreadState) -> Style {
        match state {
            ThreadState::Created => self.fg(Color::Blue),
            ThreadState::Running => self.fg(Color::Green),
            ThreadState::Waiting => self.fg(Color::Yellow),
            ThreadState::Terminated => self.fg(Color::DarkGray),
        }
    }

    /// A whole row for a terminated thread.
    pub fn terminated(&self) -> Style {
        self.dim()
    }

    /// A thread that is threadscope's own.
    pub fn inspector(&self) -> Style {
        self.fg(Color::Magenta)
    }

    /// A thread the library does not know.
    pub fn foreign(&self) -> Style {
        self.fg(Color::LightBlue)
    }

    /// A kernel comm the kernel cut short.
    pub fn truncated(&self) -> Style {
        self.fg(Color::LightRed)
    }

    /// The DEADLOCK banner.
    pub fn deadlock(&self) -> Style {
        if self.color {
            Style::new().fg(Color::White).bg(Color::Red).add_modifier(BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | BOLD)
        }
    }

    /// A node or an edge that is part of a cycle.
    pub fn cycle(&self) -> Style {
        self.fg(Color::LightRed).add_modifier(BOLD)
    }

    /// The paused marker.
    pub fn paused(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Yellow).add_modifier(BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// A success message.
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    /// An error message.
    pub fn error(&self) -> Style {
        self.fg(Color::LightRed).add_modifier(BOLD)
    }

    /// A warning (a finding, a thread that cannot be stopped).
    pub fn warning(&self) -> Style {
        self.fg(Color::Yellow)
    }

    /// A key in the help screen and hints.
    pub fn key(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(BOLD)
    }

    /// A dialog's border.
    pub fn dialog(&self) -> Style {
        self.fg(Color::LightCyan)
    }

    /// A CPU or memory bar filled to `percent`.
    pub fn gauge(&self, percent: f32) -> Style {
        match percent {
            p if p >= 85.0 => self.fg(Color::Red),
            p if p >= 50.0 => self.fg(Color::Yellow),
            _ => self.fg(Color::Green),
        }
    }

    /// A log entry's tag.
    pub fn log(&self, kind: LogKind) -> Style {
        match kind {
            LogKind::Lifecycle => self.fg(Color::Blue),
            LogKind::Exception | LogKind::Error => self.error(),
            LogKind::Finding => self.warning(),
            LogKind::Action => self.ok(),
            LogKind::Stderr => self.fg(Color::Magenta),
            LogKind::Info => self.dim(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_has_no_colours() {
        let plain = Theme::plain();
        let styles = [
            plain.dim(),
            plain.heading(),
            plain.selected(),
            plain.state(ThreadState::Running),
            plain.deadlock(),
            plain.paused(),
            plain.error(),
            plain.gauge(99.0),
            plain.log(LogKind::Exception),
        ];
        for style in styles {
            assert_eq!((style.fg, style.bg), (None, None), "{style:?}");
        }
    }
}
