//! Colours and emphasis. Three levels: no colour (`--color never`, NO_COLOR, TERM=dumb: see
//! `crate::color`) where meaning is carried by text and bold/reverse only; the 16 ANSI colours,
//! which every terminal has; and true colour when COLORTERM says so.

use crate::color::{ColorChoice, Environment};
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorSupport {
    None,
    Ansi16,
    TrueColor,
}

impl ColorSupport {
    /// What `--color` (`choice`) and the environment (`env`) allow on the app's terminal, at the
    /// depth the terminal announces in `COLORTERM`.
    pub fn chosen(choice: ColorChoice, env: &Environment, colorterm: Option<&str>) -> ColorSupport {
        if !choice.decide(true, env) {
            return ColorSupport::None;
        }
        match colorterm {
            Some("truecolor" | "24bit") => ColorSupport::TrueColor,
            _ => ColorSupport::Ansi16,
        }
    }
}

/// Every style the views use, by meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub support: ColorSupport,
    pub border: Style,
    pub border_focused: Style,
    pub header: Style,
    pub selected: Style,
    pub ok: Style,
    pub warning: Style,
    pub critical: Style,
    pub expired: Style,
    pub busy: Style,
    pub error: Style,
    pub success: Style,
    pub dim: Style,
    pub key: Style,
    pub status_bar: Style,
    pub notice: Style,
}

impl Theme {
    /// The theme `--color` (`choice`) and the environment ask for.
    pub fn chosen(choice: ColorChoice) -> Theme {
        let colorterm = std::env::var("COLORTERM").ok();
        Theme::new(ColorSupport::chosen(
            choice,
            &Environment::read(),
            colorterm.as_deref(),
        ))
    }

    pub fn new(support: ColorSupport) -> Theme {
        let plain = Style::new();
        let bold = plain.add_modifier(Modifier::BOLD);
        match support {
            ColorSupport::None => Theme {
                support,
                border: plain,
                border_focused: bold,
                header: bold,
                selected: plain.add_modifier(Modifier::REVERSED),
                ok: plain,
                warning: bold,
                critical: bold.add_modifier(Modifier::UNDERLINED),
                expired: plain.add_modifier(Modifier::DIM),
                busy: plain,
                error: bold,
                success: plain,
                dim: plain.add_modifier(Modifier::DIM),
                key: bold,
                status_bar: plain.add_modifier(Modifier::REVERSED),
                notice: bold,
            },
            ColorSupport::Ansi16 => Theme::coloured(
                support,
                Palette {
                    green: Color::Green,
                    yellow: Color::Yellow,
                    red: Color::Red,
                    cyan: Color::Cyan,
                    grey: Color::DarkGray,
                    bar: Color::Blue,
                },
            ),
            ColorSupport::TrueColor => Theme::coloured(
                support,
                Palette {
                    green: Color::Rgb(0x5f, 0xd7, 0x87),
                    yellow: Color::Rgb(0xf0, 0xc6, 0x74),
                    red: Color::Rgb(0xff, 0x5f, 0x5f),
                    cyan: Color::Rgb(0x5f, 0xd7, 0xff),
                    grey: Color::Rgb(0x80, 0x80, 0x80),
                    bar: Color::Rgb(0x26, 0x3a, 0x5a),
                },
            ),
        }
    }

    fn coloured(support: ColorSupport, p: Palette) -> Theme {
        let plain = Style::new();
        let bold = plain.add_modifier(Modifier::BOLD);
        Theme {
            support,
            border: plain.fg(p.grey),
            border_focused: bold.fg(p.cyan),
            header: bold,
            selected: plain.add_modifier(Modifier::REVERSED),
            ok: plain.fg(p.green),
            warning: bold.fg(p.yellow),
            critical: bold.fg(p.red),
            expired: plain.fg(p.grey),
            busy: plain.fg(p.cyan),
            error: bold.fg(p.red),
            success: plain.fg(p.green),
            dim: plain.fg(p.grey),
            key: bold.fg(p.cyan),
            status_bar: plain.bg(p.bar).fg(Color::White),
            notice: bold.fg(p.yellow),
        }
    }
}

/// The roles `[theme]` can colour, as written there.
pub const ROLES: [&str; 15] = [
    "border",
    "border-focused",
    "header",
    "selected",
    "ok",
    "warning",
    "critical",
    "expired",
    "busy",
    "error",
    "success",
    "dim",
    "key",
    "status-bar",
    "notice",
];

impl Theme {
    /// This theme with the user's colour for `role`: `"COLOUR"` (the text) or `"COLOUR on
    /// COLOUR"` (text and background), each a name (`red`, `light-blue`, `dark-gray`), `#rrggbb`
    /// or a 256-colour index. Emphasis (bold, reverse) stays. Without colour (`NO_COLOR`) the
    /// value is still checked but not used. The error is for the user, naming what is wrong.
    pub fn with_colour(mut self, role: &str, value: &str) -> Result<Theme, String> {
        let (fg, bg) = match value.split_once(" on ") {
            Some((fg, bg)) => (parse_colour(fg)?, Some(parse_colour(bg)?)),
            None => (parse_colour(value)?, None),
        };
        let coloured = self.support != ColorSupport::None;
        let Some(style) = self.role_mut(role) else {
            return Err(format!("no role {role:?} to colour; roles: {}", ROLES.join(", ")));
        };
        if coloured {
            *style = style.fg(fg);
            if let Some(bg) = bg {
                // Both colours are named: reverse video (the default selection) would swap them.
                *style = style.bg(bg).remove_modifier(Modifier::REVERSED);
            }
        }
        Ok(self)
    }

    fn role_mut(&mut self, role: &str) -> Option<&mut Style> {
        Some(match role {
            "border" => &mut self.border,
            "border-focused" => &mut self.border_focused,
            "header" => &mut self.header,
            "selected" => &mut self.selected,
            "ok" => &mut self.ok,
            "warning" => &mut self.warning,
            "critical" => &mut self.critical,
            "expired" => &mut self.expired,
            "busy" => &mut self.busy,
            "error" => &mut self.error,
            "success" => &mut self.success,
            "dim" => &mut self.dim,
            "key" => &mut self.key,
            "status-bar" => &mut self.status_bar,
            "notice" => &mut self.notice,
            _ => return None,
        })
    }
}

fn parse_colour(text: &str) -> Result<Color, String> {
    let text = text.trim();
    text.parse::<Color>().map_err(|_| {
        format!("{text:?} is not a colour (a name such as red or light-blue, #rrggbb, or 0-255)")
    })
}

struct Palette {
    green: Color,
    yellow: Color,
    red: Color,
    cyan: Color,
    grey: Color,
    bar: Color,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminal() -> Environment {
        Environment {
            clicolor_force: false,
            no_color: false,
            clicolor: None,
            term_supports_color: true,
        }
    }

    #[test]
    fn no_color_and_a_dumb_terminal_get_no_colour() {
        let no_color = Environment {
            no_color: true,
            ..terminal()
        };
        let support = ColorSupport::chosen(ColorChoice::Auto, &no_color, Some("truecolor"));
        assert_eq!(support, ColorSupport::None);
        let dumb = Environment {
            term_supports_color: false,
            ..terminal()
        };
        assert_eq!(
            ColorSupport::chosen(ColorChoice::Auto, &dumb, None),
            ColorSupport::None
        );
        assert_eq!(
            ColorSupport::chosen(ColorChoice::Never, &terminal(), Some("truecolor")),
            ColorSupport::None
        );
        assert_eq!(
            ColorSupport::chosen(ColorChoice::Always, &no_color, None),
            ColorSupport::Ansi16,
            "--color always wins"
        );
    }

    #[test]
    fn true_colour_only_when_announced() {
        assert_eq!(
            ColorSupport::chosen(ColorChoice::Auto, &terminal(), Some("24bit")),
            ColorSupport::TrueColor
        );
        assert_eq!(
            ColorSupport::chosen(ColorChoice::Auto, &terminal(), None),
            ColorSupport::Ansi16
        );
    }

    #[test]
    fn without_colour_no_style_sets_a_colour() {
        let theme = Theme::new(ColorSupport::None);
        for style in [
            theme.ok,
            theme.warning,
            theme.critical,
            theme.error,
            theme.status_bar,
        ] {
            assert_eq!(style.fg, None);
            assert_eq!(style.bg, None);
        }
    }

    #[test]
    fn sixteen_colour_theme_uses_only_named_colours() {
        let theme = Theme::new(ColorSupport::Ansi16);
        for style in [
            theme.ok,
            theme.warning,
            theme.critical,
            theme.error,
            theme.status_bar,
            theme.dim,
        ] {
            for colour in [style.fg, style.bg].into_iter().flatten() {
                assert!(
                    !matches!(colour, Color::Rgb(..) | Color::Indexed(_)),
                    "{colour:?}"
                );
            }
        }
    }
}
