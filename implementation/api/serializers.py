from rest_framework import serializers

from implementation.models import School, StaffPosition


class StaffPositionSerializer(serializers.ModelSerializer[StaffPosition]):
    class Meta:
        model = StaffPosition
        fields = ["id", "profession", "position_percent", "title"]


class SchoolSerializer(serializers.ModelSerializer[School]):
    positions = StaffPositionSerializer(many=True, read_only=True)

    class Meta:
        model = School
        fields = [
            "id",
            "name",
            "organisation_number",
            "grade_from",
            "grade_to",
            "pupil_count",
            "positions",
        ]
