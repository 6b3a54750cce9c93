"""What the researcher API shows of a study."""
from rest_framework import serializers

from .lifecycle import next_statuses
from .models import Study
from .options import OPTIONS


class StudyListSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)

    class Meta:
        model = Study
        fields = ["slug", "name", "status", "owner", "bundle_name", "votes_per_pair", "created_at",
                  "launched_at", "closed_at"]
        read_only_fields = fields


class StudyDetailSerializer(StudyListSerializer):
    criteria = serializers.SerializerMethodField()
    systems = serializers.SerializerMethodField()
    members = serializers.SerializerMethodField()
    attention_checks = serializers.SerializerMethodField()
    next_statuses = serializers.SerializerMethodField()

    class Meta(StudyListSerializer.Meta):
        # Every study option (studies.options), then what the study has and how far it is.
        fields = StudyListSerializer.Meta.fields + [
            name for name in OPTIONS if name not in StudyListSerializer.Meta.fields] + [
            "criteria", "systems", "members", "progress", "progress_updated_at", "attention_checks", "next_statuses",
        ]
        read_only_fields = fields

    def get_next_statuses(self, study):
        """The statuses ``POST .../status`` may move the study to now (``studies.lifecycle``)."""
        return list(next_statuses(study.status))

    def get_criteria(self, study):
        return [{"key": c.key, "question": c.question} for c in study.criteria.all()]

    def get_systems(self, study):
        return [{"id": s.key, "label": s.label, "metrics": s.metrics} for s in study.systems.all()]

    def get_attention_checks(self, study):
        from annotate.attention import check_summary

        return check_summary(study)

    def get_members(self, study):
        return sorted(study.members.values_list("username", flat=True))


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Study.Status.choices)
