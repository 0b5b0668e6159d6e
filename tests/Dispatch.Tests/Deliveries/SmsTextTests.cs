using Dispatch.Grains.Transports;
using Dispatch.Grains.Transports.Sms;

namespace Dispatch.Tests.Deliveries;

public sealed class SmsTextTests
{
    [Theory]
    [InlineData(160, 1)]
    [InlineData(161, 2)]
    [InlineData(306, 2)]
    [InlineData(307, 3)]
    public void Gsm7_text_takes_160_characters_alone_and_153_in_each_of_several(int length, int segments) =>
        Assert.Equal(segments, SmsText.Segments(new string('a', length)));

    [Fact]
    public void Escaped_characters_count_twice_and_anything_outside_the_alphabet_makes_it_ucs2()
    {
        Assert.True(SmsText.IsGsm7("Gas leak @ 12 Elm St. — no"[..19]));
        Assert.Equal(2, SmsText.Segments(new string('a', 159) + "€")); // 161 septets
        Assert.False(SmsText.IsGsm7("Gaslecks in der Straße — bitte"));
        Assert.Equal(1, SmsText.Segments(new string('a', 69) + "—"));
        Assert.Equal(2, SmsText.Segments(new string('a', 70) + "—"));
        Assert.Equal(2, SmsText.Segments(new string('a', 132) + "🔥")); // a surrogate pair counts two units: 134, two segments of 67
        Assert.Equal(3, SmsText.Segments(new string('a', 133) + "🔥"));
    }

    [Fact]
    public void A_long_description_is_trimmed_to_four_segments_keeping_the_head_and_the_reply_instruction_whole()
    {
        var description = string.Concat(Enumerable.Repeat("Caller reports a strong smell of gas near the north entrance. ", 30));
        var text = SmsText.Compose("[CRITICAL] Gas smell at school\n12 Elm Street", description, "Reply 4321 to acknowledge.");

        Assert.True(SmsText.Segments(text) <= SmsText.MaxSegments);
        Assert.StartsWith("[CRITICAL] Gas smell at school\n12 Elm Street\nCaller reports", text);
        Assert.EndsWith("...\nReply 4321 to acknowledge.", text);
        Assert.True(SmsText.Units(text) > 153 * 3, "trimmed far more than it had to");
    }

    [Fact]
    public void A_ucs2_description_is_trimmed_without_splitting_a_surrogate_pair()
    {
        var description = string.Concat(Enumerable.Repeat("🔥Brand im Gebäude ", 40));
        var text = SmsText.Compose("[IROD] Brand", description, "Reply 4321 to acknowledge.");

        Assert.True(SmsText.Segments(text) <= SmsText.MaxSegments);
        for (var i = 0; i < text.Length; i++)
            if (char.IsHighSurrogate(text[i])) Assert.True(i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]), $"a lone surrogate at {i}");
    }

    [Theory]
    [InlineData("1234", "1234")]
    [InlineData("ACK 1234", "1234")]
    [InlineData("1234 ack", "1234")]
    [InlineData("ok 1234!", "1234")]
    [InlineData("on my way", null)]
    [InlineData("12345", null)]
    [InlineData("1234 or 5678", null)]
    public void A_reply_carries_one_four_digit_code_or_none(string reply, string? code) => Assert.Equal(code, ReplyCodes.In(reply));

    [Fact]
    public void Each_notification_has_a_stable_four_digit_code()
    {
        var id = Guid.NewGuid();
        Assert.Equal(ReplyCodes.For(id), ReplyCodes.For(id));
        Assert.Matches("^[1-9][0-9]{3}$", ReplyCodes.For(id));
        Assert.True(Enumerable.Range(0, 200).Select(_ => ReplyCodes.For(Guid.NewGuid())).Distinct().Count() > 150, "codes do not spread");
    }

    [Fact]
    public void A_channel_config_is_checked_and_a_personal_override_holds_only_a_phone()
    {
        Assert.Empty(ChannelConfig.Validate("sms", new() { ["from"] = "+15550001111" }, isOverride: false));
        Assert.Contains("config.phone", ChannelConfig.Validate("sms", new() { ["phone"] = "555-1234" }, isOverride: true).Keys);
        Assert.Contains("config.phone", ChannelConfig.Validate("sms", new() { ["phone"] = "+15552223333", ["from"] = "+15550001111" }, isOverride: true).Keys);
        Assert.Contains("config.accountSid", ChannelConfig.Validate("sms", new() { ["accountSid"] = "nope", ["authToken"] = "x" }, isOverride: false).Keys);
        Assert.Contains("config.authToken", ChannelConfig.Validate("sms", new() { ["accountSid"] = "AC0123456789abcdef0123456789abcdef" }, isOverride: false).Keys);
    }
}
