//! The one place that knows how our module tree is named in the original PyTorch
//! state dict (`network/CMUNeXt.py`), e.g. `encoders.3.layers.0.depthwise.weight`
//! ↔ `encoder4.block.0.0.fn.0.weight`.

/// Maps a Burn parameter path (segments as Burn's visitors report them) to the
/// PyTorch state-dict key. Returns `None` for a path the reference has no key for.
pub fn torch_key(path: &[String]) -> Option<String> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let (module, leaf) = match p.as_slice() {
        ["stem", block, leaf] => (format!("stem.conv.{}", conv_bn_index(block)?), *leaf),
        ["encoders", stage, "layers", layer, part, leaf] => {
            let stage: usize = stage.parse().ok()?;
            let index = match *part {
                "depthwise" => "0.fn.0",
                "depthwise_bn" => "0.fn.2",
                "expand" => "1",
                "expand_bn" => "3",
                "reduce" => "4",
                "reduce_bn" => "6",
                _ => return None,
            };
            (format!("encoder{}.block.{layer}.{index}", stage + 1), *leaf)
        }
        ["encoders", stage, "change", block, leaf] => {
            let stage: usize = stage.parse().ok()?;
            (
                format!("encoder{}.up.conv.{}", stage + 1, conv_bn_index(block)?),
                *leaf,
            )
        }
        ["ups", j, block, leaf] => {
            let level = 5 - j.parse::<usize>().ok()?;
            let index = match *block {
                "conv" => 1,
                "bn" => 2,
                _ => return None,
            };
            (format!("Up{level}.up.{index}"), *leaf)
        }
        ["fusions", j, part, leaf] => {
            let level = 5 - j.parse::<usize>().ok()?;
            let index = match *part {
                "grouped" => 0,
                "grouped_bn" => 2,
                "expand" => 3,
                "expand_bn" => 5,
                "reduce" => 6,
                "reduce_bn" => 8,
                _ => return None,
            };
            (format!("Up_conv{level}.conv.{index}"), *leaf)
        }
        ["head", leaf] => ("Conv_1x1".to_string(), *leaf),
        _ => return None,
    };
    // Burn names BN's affine parameters gamma/beta; PyTorch weight/bias.
    let leaf = match leaf {
        "gamma" => "weight",
        "beta" => "bias",
        other => other,
    };
    Some(format!("{module}.{leaf}"))
}

/// A key PyTorch saves that has no counterpart in Burn (BN's batch counter).
pub fn is_ignored_torch_key(key: &str) -> bool {
    key.ends_with(".num_batches_tracked")
}

/// Whether a PyTorch key names a BN running statistic (a buffer, not trainable).
pub fn is_running_stat(key: &str) -> bool {
    key.ends_with(".running_mean") || key.ends_with(".running_var")
}

fn conv_bn_index(block: &str) -> Option<u8> {
    match block {
        "conv" => Some(0),
        "bn" => Some(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str) -> Option<String> {
        torch_key(&path.split('.').map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn maps_each_kind_of_module() {
        assert_eq!(key("stem.bn.gamma").as_deref(), Some("stem.conv.1.weight"));
        assert_eq!(
            key("encoders.3.layers.2.depthwise.weight").as_deref(),
            Some("encoder4.block.2.0.fn.0.weight")
        );
        assert_eq!(
            key("encoders.0.layers.0.reduce_bn.running_var").as_deref(),
            Some("encoder1.block.0.6.running_var")
        );
        assert_eq!(
            key("encoders.4.change.conv.bias").as_deref(),
            Some("encoder5.up.conv.0.bias")
        );
        assert_eq!(key("ups.0.bn.beta").as_deref(), Some("Up5.up.2.bias"));
        assert_eq!(
            key("fusions.3.expand_bn.running_mean").as_deref(),
            Some("Up_conv2.conv.5.running_mean")
        );
        assert_eq!(key("head.weight").as_deref(), Some("Conv_1x1.weight"));
        assert_eq!(key("head.extra.weight"), None);
    }
}
