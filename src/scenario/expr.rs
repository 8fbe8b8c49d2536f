//! Name templates: `Philosopher-{i}`, `fork-{(i+1)%n}`.
//!
//! Inside braces is integer arithmetic over `i` (the thread's or
//! primitive's index in its group, from 0) and `n` (the group's count):
//! `+ - * / %`, parentheses and literals. `{{` and `}}` are literal braces.

use std::fmt;

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(pub String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Values of the template variables.
#[derive(Debug, Clone, Copy)]
pub struct Vars {
    /// Index in the group, from 0.
    pub i: i64,
    /// Size of the group.
    pub n: i64,
}

/// Expands every `{expr}` in `template`.
pub fn expand(template: &str, vars: Vars) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut chars = template.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.peek().is_some_and(|&(_, c)| c == '{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().is_some_and(|&(_, c)| c == '}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let rest = &template[at + 1..];
                let close =
                    rest.find('}').ok_or_else(|| TemplateError(format!("unclosed `{{` in `{template}`")))?;
                let value = evaluate(&rest[..close], vars)?;
                out.push_str(&value.to_string());
                for _ in 0..rest[..=close].chars().count() {
                    chars.next();
                }
            }
            '}' => return Err(TemplateError(format!("unmatched `}}` in `{template}`"))),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// True if the template has a `{…}` expression (so it varies with `i`).
pub fn is_template(text: &str) -> bool {
    text.replace("{{", "").contains('{')
}

/// Evaluates one arithmetic expression.
pub fn evaluate(expr: &str, vars: Vars) -> Result<i64, TemplateError> {
    let tokens = tokenize(expr)?;
    let mut parser = Parser { tokens: &tokens, pos: 0, vars, expr, depth: 0 };
    let value = parser.sum()?;
    if parser.pos != tokens.len() {
        return Err(parser.error("unexpected input"));
    }
    Ok(value)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Num(i64),
    Var(char),
    Op(char),
}

fn tokenize(expr: &str) -> Result<Vec<Token>, TemplateError> {
    let mut tokens = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' => {
                chars.next();
            }
            '0'..='9' => {
                let mut value: i64 = 0;
                while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                    value = value
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(i64::from(d)))
                        .ok_or_else(|| TemplateError(format!("number too large in `{{{expr}}}`")))?;
                    chars.next();
                }
                tokens.push(Token::Num(value));
            }
            'i' | 'n' => {
                chars.next();
                if chars.peek().is_some_and(|c| c.is_alphanumeric() || *c == '_') {
                    return Err(TemplateError(format!("unknown name in `{{{expr}}}` (use i or n)")));
                }
                tokens.push(Token::Var(c));
            }
            '+' | '-' | '*' | '/' | '%' | '(' | ')' => {
                chars.next();
                tokens.push(Token::Op(c));
            }
            other => {
                return Err(TemplateError(format!(
                    "unexpected `{other}` in `{{{expr}}}` (use i, n, numbers, + - * / % and parentheses)"
                )));
            }
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    vars: Vars,
    expr: &'a str,
    /// Parentheses and signs open around the current atom: each is a
    /// recursive call, so a file of `((((…` would otherwise exhaust the
    /// stack and abort the process.
    depth: usize,
}

/// Deeper than any name needs, far shallower than the stack allows.
const MAX_DEPTH: usize = 64;

impl Parser<'_> {
    fn error(&self, what: &str) -> TemplateError {
        TemplateError(format!("{what} in `{{{}}}`", self.expr))
    }

    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).copied()
    }

    fn sum(&mut self) -> Result<i64, TemplateError> {
        let mut value = self.product()?;
        while let Some(Token::Op(op @ ('+' | '-'))) = self.peek() {
            self.pos += 1;
            let rhs = self.product()?;
            value = if op == '+' { value.checked_add(rhs) } else { value.checked_sub(rhs) }
                .ok_or_else(|| self.error("overflow"))?;
        }
        Ok(value)
    }

    fn product(&mut self) -> Result<i64, TemplateError> {
        let mut value = self.atom()?;
        while let Some(Token::Op(op @ ('*' | '/' | '%'))) = self.peek() {
            self.pos += 1;
            let rhs = self.atom()?;
            value = match op {
                '*' => value.checked_mul(rhs),
                _ if rhs == 0 => return Err(self.error("division by zero")),
                '/' => value.checked_div(rhs),
                _ => value.checked_rem_euclid(rhs),
            }
            .ok_or_else(|| self.error("overflow"))?;
        }
        Ok(value)
    }

    fn atom(&mut self) -> Result<i64, TemplateError> {
        let token = self.peek().ok_or_else(|| self.error("expression ends too soon"))?;
        self.pos += 1;
        match token {
            Token::Num(v) => Ok(v),
            Token::Var('i') => Ok(self.vars.i),
            Token::Var(_) => Ok(self.vars.n),
            Token::Op(op @ ('-' | '(')) => {
                if self.depth == MAX_DEPTH {
                    return Err(self.error(&format!("more than {MAX_DEPTH} nested signs or parentheses")));
                }
                self.depth += 1;
                let value = self.nested(op);
                self.depth -= 1;
                value
            }
            Token::Op(_) => Err(self.error("expected a number, i or n")),
        }
    }

    /// What follows an opening `-` or `(`.
    fn nested(&mut self, op: char) -> Result<i64, TemplateError> {
        if op == '-' {
            // -(i64::MIN) does not fit.
            return self.atom()?.checked_neg().ok_or_else(|| self.error("overflow"));
        }
        let value = self.sum()?;
        if self.peek() != Some(Token::Op(')')) {
            return Err(self.error("missing `)`"));
        }
        self.pos += 1;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: Vars = Vars { i: 4, n: 5 };

    #[test]
    fn expands_index_arithmetic() {
        assert_eq!(expand("fork-{(i+1)%5}", V).unwrap(), "fork-0");
        assert_eq!(expand("fork-{(i+1)%n}", Vars { i: 1, n: 5 }).unwrap(), "fork-2");
        assert_eq!(expand("Worker-{i+1}-of-{n}", V).unwrap(), "Worker-5-of-5");
        assert_eq!(expand("{2*i - 3}", V).unwrap(), "5");
        assert_eq!(expand("plain", V).unwrap(), "plain");
        assert_eq!(expand("{{literal}}", V).unwrap(), "{literal}");
    }

    #[test]
    fn modulo_of_negative_numbers_stays_in_range() {
        assert_eq!(expand("fork-{(i-1)%n}", Vars { i: 0, n: 5 }).unwrap(), "fork-4");
    }

    #[test]
    fn reports_bad_templates() {
        assert!(expand("x-{i", V).unwrap_err().0.contains("unclosed"));
        assert!(expand("x-}", V).unwrap_err().0.contains("unmatched"));
        assert!(expand("{j}", V).unwrap_err().0.contains("unexpected `j`"));
        assert!(expand("{index}", V).unwrap_err().0.contains("unknown name"));
        assert!(expand("{i/0}", V).unwrap_err().0.contains("division by zero"));
        assert!(expand("{(i+1}", V).unwrap_err().0.contains("missing `)`"));
        assert!(expand("{i+}", V).unwrap_err().0.contains("ends too soon"));
        assert!(expand("{99999999999999999999}", V).unwrap_err().0.contains("too large"));
    }

    #[test]
    fn the_negation_of_the_smallest_number_is_an_overflow_not_a_panic() {
        assert_eq!(evaluate("-9223372036854775807-1", V), Ok(i64::MIN));
        assert!(evaluate("-(-9223372036854775807-1)", V).unwrap_err().0.contains("overflow"));
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let nested = |depth: usize| format!("{}i{}", "(".repeat(depth), ")".repeat(depth));
        assert_eq!(evaluate(&nested(MAX_DEPTH), V), Ok(4));
        assert!(evaluate(&nested(MAX_DEPTH + 1), V).unwrap_err().0.contains("nested"));
        assert!(evaluate(&nested(100_000), V).unwrap_err().0.contains("nested"));
        assert!(evaluate(&"-".repeat(100_000), V).unwrap_err().0.contains("nested"));
        assert_eq!(evaluate(&format!("{}i", "-".repeat(MAX_DEPTH)), V), Ok(4));
    }

    #[test]
    fn detects_templates() {
        assert!(is_template("a-{i}"));
        assert!(!is_template("a-{{i}}"));
        assert!(!is_template("plain"));
    }
}
