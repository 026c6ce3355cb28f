"""The sound-event-detection (SED) head, BirdCLEF's favourite: a score for every frame of a spectrogram, and the
clip's score as their attention-weighted sum, so a call heard in a quarter of a window still counts in full.

model.head: sed puts it on any timm backbone in place of its pooling and classifier (model.create_model).
"""
import torch


class SedHead(torch.nn.Module):
    """backbone's feature map (N, C, F, T) -> per-frame logits (N, classes, T), and the clip's logits (N, classes)."""

    def __init__(self, backbone, channels, n_out, dropout=0.2):
        super().__init__()
        self.backbone, self.dropout = backbone, torch.nn.Dropout(dropout)
        self.frame = torch.nn.Conv1d(channels, n_out, 1)  # what each frame hears
        self.attention = torch.nn.Conv1d(channels, n_out, 1)  # how much each frame counts, per class

    def frames(self, x):
        """Give (frame logits, attention weights), each (N, classes, T): the weights sum to 1 over the frames."""
        features = self.backbone.forward_features(x).mean(dim=2)  # frequency averaged out: (N, C, T)
        features = self.dropout(features)
        return self.frame(features), torch.softmax(torch.tanh(self.attention(features)), dim=-1)

    def forward(self, x):
        logits, weights = self.frames(x)
        return (logits * weights).sum(dim=-1)
